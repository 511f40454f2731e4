"""How a parallel run (`pytest -n … --dist loadscope`) is cut into units and ordered: a module is one unit (its
module-scoped app or stack starts once), a folder sharing one stack is one unit, the longest units go first."""

from __future__ import annotations

from collections import Counter

import pytest

# Test folders whose modules share one session-scoped resource (a whole stack): xdist sends each as one unit.
SHARED_SCOPES = ("tests/e2e/journeys/",)
# Long modules whose tests each start all they need (no module-scoped fixture): xdist sends each test on its own.
TEST_BY_TEST = ("libs/devstack/tests/test_stack.py", "libs/common/tests/test_fault_tolerance.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With `-n … --dist loadscope`: a module is one unit (its module-scoped app or stack starts once), and so is
    each shared scope (xdist's own loadscope would split a module's classes, and knows no shared folders)."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False  # xdist would put the modules with most tests first: keep LONGEST_FIRST

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path in TEST_BY_TEST:
                return nodeid
            return next((scope for scope in SHARED_SCOPES if path.startswith(scope)), path)

    return ModuleScheduling(config, log)


# The longest scheduling units, longest first (quiet 2-core figures of one run, in seconds, for the next person who
# measures): started at once, they end near each other instead of one of them ending the run alone.
LONGEST_FIRST = (
    "tests/e2e/journeys/",  # 150: one stack, six journeys
    "tests/e2e/test_nothing_acknowledged_is_lost.py",  # 95
    "services/capacity-hub/tests/test_capacity_hub_webhooks_service.py",  # 62
    "tests/e2e/test_recognition_journey.py",  # 60
    "services/gateway/tests/test_gateway_openapi_fuzz.py",  # 48
    "tests/e2e/test_replicas.py",  # 40
    "libs/common/tests/test_outbox_service.py",  # 40
    "tests/e2e/test_shared_limits.py",  # 38
    "libs/common/tests/test_outages.py",  # 35
    "tests/e2e/test_write_outcomes.py",  # 29
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The units of LONGEST_FIRST first, in its order; then the other modules marked `slow` (whole stacks, killed
    processes); then the rest, modules with more tests first. A stable sort, so the order inside a module is kept."""
    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    sizes = Counter(module(item) for item in items)
    slow_modules = {module(item) for item in items if any(mark.name == "slow" for mark in item.iter_markers())}

    def rank(item: pytest.Item) -> tuple[int, int]:
        path = module(item)
        listed = next((n for n, unit in enumerate(LONGEST_FIRST) if path.startswith(unit)), None)
        if listed is not None:
            return listed, 0
        return len(LONGEST_FIRST) + (path not in slow_modules), -sizes[path]

    items.sort(key=rank)
