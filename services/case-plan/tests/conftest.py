"""Fixtures of case-plan's tests: a migrated database of each test's own, the app, and a casework harness."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from case_plan.case_managers.models import CaseManager
from case_plan.case_managers.service import add_case_manager
from case_plan.cases.consumers import open_cases_of_registered
from case_plan.cases.models import Case
from case_plan.cases.service import Newcomer, close_case, open_cases
from case_plan.main import create_app
from case_plan.settings import CasePlanSettings
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from verbinding_common.contracts.intake import PersonRegistered
from verbinding_common.db import outbox_table
from verbinding_devstack.infra.broker import EmbeddedBroker
from verbinding_testing.consuming import Applied, apply_as_consumer
from verbinding_testing.fixtures import ServiceUnderTest, identity_headers

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
TEAM = "west"  # the team of the harness's case managers and of as_role's callers unless a test says otherwise


def registration(recognised_on: date = date(2024, 1, 15), *, languages: tuple[str, ...] = (),
                 person_id: uuid.UUID | None = None) -> PersonRegistered:
    """A person intake registered, as case-plan's consumer receives them."""
    return PersonRegistered(person_id=person_id or uuid.uuid4(), household_id=uuid.uuid4(),
                            recognised_on=recognised_on, gender="x", languages=list(languages),
                            family_reunification=False)


class Casework:
    """Drives case-plan's service layer the way its consumer and routes do: one transaction per call."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def add_manager(self, subject: str | None = None, *, capacity: int = 50,
                          languages: tuple[str, ...] = (), team: str | None = TEAM) -> CaseManager:
        async with self.sessionmaker() as session, session.begin():
            return await add_case_manager(session=session, subject=subject or f"cm-{uuid.uuid4().hex[:8]}",
                                          name="Case Manager", languages=list(languages), capacity=capacity,
                                          team=team)

    async def open(self, recognised_on: date = date(2024, 1, 15), *, languages: tuple[str, ...] = (),
                   person_id: uuid.UUID | None = None) -> Case | None:
        async with self.sessionmaker() as session, session.begin():
            opened = await open_cases(session=session, newcomers=[
                registration(recognised_on, languages=languages, person_id=person_id)])
        return await self.case(opened[0]) if opened else None

    async def open_as_one_fetch(self, *newcomers: Newcomer) -> list[uuid.UUID]:
        """Open cases the way the consumer's handler does for one fetch: one transaction for all."""
        async with self.sessionmaker() as session, session.begin():
            return await open_cases(session=session, newcomers=newcomers)

    async def consume(self, *registrations: PersonRegistered) -> list[Applied]:
        """Hand registrations to the consumer's handler as one fetch, each the cause of what it leads to."""
        async with self.sessionmaker() as session, session.begin():
            return await apply_as_consumer(open_cases_of_registered, session, *registrations)

    async def case_of(self, person_id: uuid.UUID) -> Case:
        async with self.sessionmaker() as session:
            return await session.scalar(select(Case).where(Case.person_id == person_id))

    async def close(self, case_id: uuid.UUID, reason: str = "moved away") -> Case:
        async with self.sessionmaker() as session, session.begin():
            return await close_case(session=session, case_id=case_id, reason=reason)

    async def case(self, case_id: uuid.UUID) -> Case:
        async with self.sessionmaker() as session:
            return await session.get_one(Case, case_id)

    async def manager(self, case_manager_id: uuid.UUID) -> CaseManager:
        async with self.sessionmaker() as session:
            return await session.get_one(CaseManager, case_manager_id)

    async def assigned_count(self, case_manager_id: uuid.UUID) -> int:
        async with self.sessionmaker() as session:
            return await session.scalar(select(func.count()).select_from(Case).where(
                Case.case_manager_id == case_manager_id, Case.status == "assigned")) or 0

    async def events(self, case_id: uuid.UUID) -> list[dict]:
        """The outbox rows of one case, in order: [{"type": …, **data}]."""
        async with self.sessionmaker() as session:
            rows = (await session.execute(select(outbox_table.c.event_type, outbox_table.c.envelope)
                                          .where(outbox_table.c.key == str(case_id))
                                          .order_by(outbox_table.c.id))).all()
        return [{"type": row.event_type, **row.envelope["data"]} for row in rows]


@pytest.fixture
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest(alembic_ini=ALEMBIC_INI, event_source="case-plan", pool_size=20)


@pytest.fixture
def casework(sessionmaker: async_sessionmaker[AsyncSession]) -> Casework:
    return Casework(sessionmaker)


def case_plan_settings(*, database_url: str, bootstrap_servers: str, public_key: str) -> CasePlanSettings:
    return CasePlanSettings(
        environment="test", database_url=database_url, kafka_bootstrap_servers=bootstrap_servers,
        identity_public_key=public_key, kafka_session_timeout_ms=4_000, kafka_heartbeat_interval_ms=1_000,
        kafka_request_timeout_ms=5_000, relay_poll_interval_s=0.05, consumer_retry_backoff_s=0.05,
        # A consumer group of this test's own: other tests' events on intake.persons.v1 stay theirs.
        service_name=f"case-plan-test-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def app_settings(service_database: str, own_broker: EmbeddedBroker,
                 identity_keys: tuple[str, str]) -> CasePlanSettings:
    """Settings of a full app (relay and consumer on a real broker of this test's own: other services' tests
    publish to intake.persons.v1 on the shared one, and a new consumer group reads from the earliest offset)."""
    return case_plan_settings(database_url=service_database, bootstrap_servers=own_broker.bootstrap_servers,
                              public_key=identity_keys[1])


@pytest.fixture
async def api(service_database: str, identity_keys: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on case-plan's routes. The lifespan (relay, consumer) is not started: routes need only
    the database, and their events wait in the outbox."""
    app = create_app(case_plan_settings(database_url=service_database, bootstrap_servers="127.0.0.1:9",
                                        public_key=identity_keys[1]))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://case-plan") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
    finally:
        await app.state.engine.dispose()


@pytest.fixture
def as_role(identity_signer):
    """Headers for a caller the gateway vouches for: as_role("team_lead"), as_role("case_manager", "cm-anna"),
    as_role("team_lead", team="oost")."""
    def headers(role: str, subject: str = "tester", team: str | None = TEAM) -> dict[str, str]:
        return identity_headers(identity_signer, role, subject=subject, audience="case-plan", team=team)

    return headers
