"""Fixtures of safe-reporting's tests: a migrated database of each test's own, and the app on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from safe_reporting.main import create_app
from safe_support import safe_reporting_settings
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from verbinding_common.db import create_engine, create_sessionmaker
from verbinding_testing.fixtures import identity_headers, migrate_database

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"


@pytest.fixture
async def safe_reporting_database(empty_database_url: str) -> str:
    await migrate_database(empty_database_url, ALEMBIC_INI)
    return empty_database_url


@pytest.fixture
async def sessionmaker(safe_reporting_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(safe_reporting_database)
    try:
        yield create_sessionmaker(engine, event_source="safe-reporting")
    finally:
        await engine.dispose()


@pytest.fixture
async def api(safe_reporting_database: str, identity_keys: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP on safe-reporting's routes; the lifespan (relay, jobs) is not started: routes need only the database."""
    app = create_app(safe_reporting_settings(safe_reporting_database, identity_keys[1],
                                             receipt_failures_per_window=1000))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://safe-reporting") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c
    finally:
        await app.state.engine.dispose()


@pytest.fixture
def as_role(identity_signer):
    def headers(role: str, subject: str = "tester") -> dict[str, str]:
        return identity_headers(identity_signer, role, subject=subject, audience="safe-reporting")

    return headers
