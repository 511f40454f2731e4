"""Fixtures of shelter-placement's tests: a migrated database of each test's own, the app, and a harness."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from shelter_placement.access import Scope
from shelter_placement.main import create_app
from shelter_placement.placements.models import Placement
from shelter_placement.placements.service import leave, request_placement
from shelter_placement.placements.stays import StayRules
from shelter_placement.residents.models import Resident, Vulnerability
from shelter_placement.residents.service import register_resident
from shelter_placement.settings import ShelterPlacementSettings
from shelter_placement.shelters.models import Shelter
from shelter_placement.shelters.service import change_status, create_shelter, record_consultation
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from verbinding_common.contracts.shelter import Programme, ShelterStatus, StayOutcome
from verbinding_common.db import create_engine, create_sessionmaker, outbox_table
from verbinding_testing.fixtures import identity_headers, migrate_database

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
HVO, DOOR = "HVO-Querido", "De Regenboog Groep"


class Shelters:
    """Drives shelter-placement's service layer the way its routes do: one transaction per call."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], rules: StayRules | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.rules = rules or StayRules()

    async def open_shelter(self, *, capacity: int = 10, operator: str = HVO, programme: Programme = Programme.lvv,
                           name: str = "Shelter West") -> Shelter:
        scope = Scope(programme=programme)
        async with self.sessionmaker() as session, session.begin():
            shelter = await create_shelter(session=session, programme=programme, name=name, neighbourhood="West",
                                           operator=operator, capacity=capacity)
            await record_consultation(session=session, shelter_id=shelter.id, scope=scope, held_on=date(2025, 1, 10),
                                      reference="minutes 2025-01")
            return await change_status(session=session, shelter_id=shelter.id, scope=scope,
                                       status=ShelterStatus.open, rules=self.rules)

    async def resident(self, *, vulnerability: Vulnerability = Vulnerability.standard, operator: str = HVO,
                       programme: Programme = Programme.lvv) -> Resident:
        async with self.sessionmaker() as session, session.begin():
            return await register_resident(session=session, operator=operator, programme=programme,
                                           pseudonym=f"R-{uuid.uuid4().hex[:8]}", year_of_birth=1990,
                                           languages=["ar", "fr"], vulnerability=vulnerability)

    async def request(self, resident: Resident) -> Placement:
        async with self.sessionmaker() as session, session.begin():
            return await request_placement(session=session, resident=resident, rules=self.rules)

    async def leave(self, placement_id: uuid.UUID, outcome: StayOutcome = StayOutcome.other) -> Placement:
        async with self.sessionmaker() as session, session.begin():
            return await leave(session=session, placement_id=placement_id, scope=EVERYONE_SCOPE, outcome=outcome,
                               rules=self.rules)

    async def placement(self, placement_id: uuid.UUID) -> Placement:
        async with self.sessionmaker() as session:
            return await session.get_one(Placement, placement_id)

    async def shelter(self, shelter_id: uuid.UUID) -> Shelter:
        async with self.sessionmaker() as session:
            return await session.get_one(Shelter, shelter_id)

    async def events(self, *, event_type: str | None = None, key: str | None = None) -> list[dict]:
        """Outbox rows in order: [{"type": …, **data}]."""
        query = select(outbox_table.c.event_type, outbox_table.c.envelope).order_by(outbox_table.c.id)
        if event_type:
            query = query.where(outbox_table.c.event_type == event_type)
        if key:
            query = query.where(outbox_table.c.key == key)
        async with self.sessionmaker() as session:
            rows = (await session.execute(query)).all()
        return [{"type": row.event_type, **row.envelope["data"]} for row in rows]


class _Everyone(Scope):
    def covers(self, *, operator: str, programme: str) -> bool:
        return True


EVERYONE_SCOPE = _Everyone()


@pytest.fixture
async def shelter_database(empty_database_url: str) -> str:
    """A database of this test's own, migrated with shelter-placement's Alembic migrations."""
    await migrate_database(empty_database_url, ALEMBIC_INI)
    return empty_database_url


@pytest.fixture
async def sessionmaker(shelter_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(shelter_database, pool_size=25)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def shelters(sessionmaker: async_sessionmaker[AsyncSession]) -> Shelters:
    return Shelters(sessionmaker)


def shelter_settings(*, database_url: str, bootstrap_servers: str, public_key: str,
                     **overrides: object) -> ShelterPlacementSettings:
    values: dict[str, object] = dict(
        environment="test", database_url=database_url, kafka_bootstrap_servers=bootstrap_servers,
        identity_public_key=public_key, kafka_session_timeout_ms=4_000, kafka_heartbeat_interval_ms=1_000,
        kafka_request_timeout_ms=5_000, relay_poll_interval_s=0.05, consumer_retry_backoff_s=0.05,
        shutdown_drain_s=1.0)
    values.update(overrides)
    return ShelterPlacementSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def api(shelter_database: str, identity_keys: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on shelter-placement's routes; the lifespan (relay, warnings) is not started."""
    app = create_app(shelter_settings(database_url=shelter_database, bootstrap_servers="127.0.0.1:9",
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
