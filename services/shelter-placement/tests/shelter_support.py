"""Helpers of shelter-placement's tests (a module of its own: conftest modules of several services collide)."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from shelter_placement.access import Scope
from shelter_placement.placements.models import Placement
from shelter_placement.placements.service import leave, request_placement, withdraw
from shelter_placement.placements.stays import StayRules
from shelter_placement.residents.models import Resident, Vulnerability
from shelter_placement.residents.service import register_resident
from shelter_placement.settings import ShelterPlacementSettings
from shelter_placement.shelters.models import Shelter
from shelter_placement.shelters.service import change_status, create_shelter, record_consultation
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from verbinding_common.contracts.shelter import Programme, ShelterStatus, StayOutcome
from verbinding_common.db import outbox_table

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
HVO, DOOR = "HVO-Querido", "De Regenboog Groep"


def shelter_settings(*, database_url: str, bootstrap_servers: str, public_key: str,
                     **overrides: object) -> ShelterPlacementSettings:
    values: dict[str, object] = dict(
        environment="test", database_url=database_url, kafka_bootstrap_servers=bootstrap_servers,
        identity_public_key=public_key, kafka_session_timeout_ms=4_000, kafka_heartbeat_interval_ms=1_000,
        kafka_request_timeout_ms=5_000, relay_poll_interval_s=0.05, consumer_retry_backoff_s=0.05,
        shutdown_drain_s=1.0)
    values.update(overrides)
    return ShelterPlacementSettings(**values)  # type: ignore[arg-type]


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

    async def resident_of(self, placement: Placement) -> Resident:
        async with self.sessionmaker() as session:
            return await session.get_one(Resident, placement.resident_id)

    async def request(self, resident: Resident) -> Placement:
        """The request as the route makes it; the stored placement."""
        async with self.sessionmaker() as session, session.begin():
            answer = await request_placement(session=session, resident=resident, rules=self.rules)
        return await self.placement(answer.placement_id)

    async def withdraw(self, placement_id: uuid.UUID) -> Placement:
        async with self.sessionmaker() as session, session.begin():
            return await withdraw(session=session, placement_id=placement_id, scope=EVERYONE_SCOPE)

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


