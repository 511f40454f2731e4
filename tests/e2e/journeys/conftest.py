"""One six-service stack for the journeys that can live together: each keeps to its own COA numbers, users' data and
reporter sentinels, and none kills or restarts a part of the stack (a test that does has a stack of its own, beside
this folder). With `pytest -n`, this folder is one scheduling unit, so the stack starts once per run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from verbinding_testing.stack import RunningStack, StackPorts, running_stack

# What the safe-reporting journey needs: 100 reports from one test run, statistics published every second; what the
# erasure journey needs: a person's retention runs out as their case closes, and is looked for every second.
SETTINGS = {"report_submissions_per_hour": "1000", "statistics_interval_s": "1", "person_retention_days": "0",
            "privacy_retention_interval_s": "1"}


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    async with running_stack(tmp_path_factory.mktemp("journeys") / "data", ports=StackPorts.free(),
                             settings=SETTINGS) as running:
        yield running


# The demo adds job seekers, vacancies and reports that the employment and safe-reporting journeys count: it runs
# after them. The sentinel journey stops the shared stack to read everything it wrote (logs, traces): it runs last.
LATE = ("journeys/test_demo_journey.py", "journeys/test_erasure_journey.py", "journeys/test_sentinel_journey.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """See LATE: the demo after the journeys it counts beside; the erasure journey after the employment journey, whose
    person must be held by cm-anna (the erasure journey adds a second case manager to the team) and whose employment
    outbox must hold placements only (an access request adds answers); the sentinel journey last."""
    items.sort(key=lambda item: next((n for n, module in enumerate(LATE, 1) if module in item.nodeid), 0))
