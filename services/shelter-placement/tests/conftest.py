"""Fixtures of shelter-placement's tests: a migrated database of each test's own, the app, and a harness."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from shelter_placement.main import create_app
from shelter_support import ALEMBIC_INI, Shelters, shelter_settings
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from verbinding_testing.fixtures import ServiceUnderTest, identity_headers


@pytest.fixture
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest(alembic_ini=ALEMBIC_INI, event_source="shelter-placement")


@pytest.fixture
def shelters(sessionmaker: async_sessionmaker[AsyncSession]) -> Shelters:
    return Shelters(sessionmaker)


@pytest.fixture
async def api(service_database: str, identity_keys: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on shelter-placement's routes; the lifespan (relay, warnings) is not started."""
    app = create_app(shelter_settings(database_url=service_database, bootstrap_servers="127.0.0.1:9",
                                      public_key=identity_keys[1]))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shelter") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
    finally:
        await app.state.engine.dispose()


@pytest.fixture
def as_caller(identity_signer):
    """Headers for a caller the gateway vouches for: as_caller("ngo_partner", "HVO-Querido")."""
    def headers(role: str, organisation: str | None = None, subject: str = "tester") -> dict[str, str]:
        return identity_headers(identity_signer, role, subject=subject, organisation=organisation,
                                audience="shelter-placement")

    return headers
