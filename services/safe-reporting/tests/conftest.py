"""Fixtures of safe-reporting's tests: a migrated database of each test's own, and the app on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from safe_reporting.main import create_app
from safe_support import safe_reporting_settings

from verbinding_testing.fixtures import ServiceUnderTest, identity_headers

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"


@pytest.fixture
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest(alembic_ini=ALEMBIC_INI, event_source="safe-reporting")


@pytest.fixture
async def api(service_database: str, identity_keys: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP on safe-reporting's routes; the lifespan (relay, jobs) is not started: routes need only the database."""
    app = create_app(safe_reporting_settings(service_database, identity_keys[1],
                                             receipt_failures_per_window=1000))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://safe-reporting") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c
    finally:
        await app.state.engine.dispose()
        await app.state.shared_limits.engine.dispose()


@pytest.fixture
def as_role(identity_signer):
    def headers(role: str, subject: str = "tester") -> dict[str, str]:
        return identity_headers(identity_signer, role, subject=subject, audience="safe-reporting")

    return headers
