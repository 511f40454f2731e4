"""Fixtures for intake's tests: one migrated database and one running intake app per test module, on the real
PostgreSQL and the shared session broker. Tests isolate themselves by unique COA numbers, and the app consumes
with a consumer group of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from intake.holders.service import apply_case_facts
from intake.main import create_app
from intake.persons.consumers import take_in_recognitions
from intake.persons.models import Person
from intake.persons.service import register_recognised_persons
from intake.settings import IntakeSettings
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseManagerJoined
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.db import outbox_table, processed_event_table
from verbinding_common.events import Envelope
from verbinding_common.kafka import new_producer, start_with_retry
from verbinding_testing.consuming import Applied, apply_as_consumer
from verbinding_testing.fixtures import (
    KafkaServer,
    create_migrated_database,
    drop_database,
    eventually,
    identity_headers,
    running_app,
)

SERVICE_ROOT = Path(__file__).resolve().parents[1]
ALEMBIC_INI = SERVICE_ROOT / "alembic.ini"
RECOGNITIONS_TOPIC = StatusRecognised.topic


def new_coa_number() -> str:
    return f"V-{uuid.uuid4().hex[:12].upper()}"


def recognition_data(**overrides: Any) -> dict[str, Any]:
    """The data of a StatusRecognised event for a fresh COA number (JSON-ready)."""
    data: dict[str, Any] = {
        "coa_registration_number": new_coa_number(),
        "recognised_on": "2024-03-01",
        "family_name": "Haddad",
        "given_names": "Amal Noor",
        "date_of_birth": "1991-07-14",
        "gender": "female",
        "country_of_origin": "SY",
        "languages": ["ar", "en"],
        "reception_centre": "AZC Amsterdam Willinklaan",
        "family_reunification_with": None,
    }
    data.update(overrides)
    return data


@dataclass
class IntakeHarness:
    """A running intake app with its database, and the means to feed it recognitions."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: IntakeSettings
    signer: Any
    producer: Any

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.app.state.sessionmaker

    # Tests reach the helpers through the fixture: test modules never import conftest.
    new_coa_number = staticmethod(new_coa_number)
    recognition_data = staticmethod(recognition_data)
    wait_for = staticmethod(eventually)

    def headers(self, *roles: str, subject: str = "cm-anna", team: str | None = "west") -> dict[str, str]:
        return identity_headers(self.signer, *roles, subject=subject, audience="intake", team=team)

    async def hold(self, person_id: uuid.UUID, *, subject: str = "cm-anna", team: str | None = "west",
                   closed: bool = False) -> uuid.UUID:
        """Make `subject` (of `team`) the holder of the person's case, as case-plan's events do; returns the case id."""
        case_id, manager_id = uuid.uuid4(), uuid.uuid5(uuid.NAMESPACE_URL, f"case-manager:{subject}")
        facts: list[Any] = [CaseManagerJoined(case_manager_id=manager_id, subject=subject, team=team),
                            CaseManagerAssigned(case_id=case_id, person_id=person_id, case_manager_id=manager_id)]
        if closed:
            facts.append(CaseClosed(case_id=case_id, person_id=person_id, closed_on=datetime.now(UTC).date(),
                                    reason="moved away"))
        async with self.sessionmaker() as session, session.begin():
            await apply_case_facts(session=session, facts=facts)
        return case_id

    async def produce(self, data: dict[str, Any], *, event_id: str | None = None,
                      event_type: str = StatusRecognised.event_type) -> str:
        """Put a recognition straight onto the topic, as the COA may do; returns its event id."""
        envelope = Envelope(id=event_id or str(uuid.uuid4()), source="coa-test", type=event_type,
                            time=datetime.now(UTC), data=data)
        key = str(data.get("coa_registration_number", "malformed")).encode()
        await self.producer.send_and_wait(RECOGNITIONS_TOPIC, value=envelope.to_bytes(), key=key)
        return envelope.id

    async def register(self, **overrides: Any) -> Person:
        """Register a person directly through the service function (for tests that are not about consuming)."""
        recognition = StatusRecognised.model_validate(recognition_data(**overrides))
        async with self.sessionmaker() as session, session.begin():
            [person_id] = await register_recognised_persons(session=session, recognitions=[recognition],
                                                            pepper=self.settings.erasure_pepper_bytes())
        async with self.sessionmaker() as session:
            return await session.get_one(Person, person_id)

    async def apply_as_one_fetch(self, *recognitions: dict[str, Any]) -> list[Applied]:
        """Hand recognitions to the consumer's handler in one transaction, as one fetch of the topic would;
        each the cause of what it leads to. Returns what was handed over."""
        async with self.sessionmaker() as session, session.begin():
            handler = partial(take_in_recognitions, pepper=self.settings.erasure_pepper_bytes())
            return await apply_as_consumer(handler, session,
                                           *(StatusRecognised.model_validate(data) for data in recognitions))

    async def person(self, coa_number: str) -> Person | None:
        async with self.sessionmaker() as session:
            return await session.scalar(select(Person).where(Person.coa_registration_number == coa_number))

    async def wait_for_person(self, coa_number: str) -> Person:
        async def found() -> Person | None:
            return await self.person(coa_number)

        return await eventually(found, what=f"person {coa_number}")

    async def wait_until_processed(self, event_id: str) -> None:
        async def processed() -> bool:
            async with self.sessionmaker() as session:
                return await session.scalar(select(func.count()).select_from(processed_event_table).where(
                    processed_event_table.c.event_id == event_id,
                    processed_event_table.c.consumer_group == self.settings.service_name)) == 1

        await eventually(processed, what=f"event {event_id} processed")

    async def outbox_events(self, *, key: uuid.UUID | str, event_type: str | None = None) -> list[dict[str, Any]]:
        """Envelopes (as stored) of the outbox rows for one person, oldest first."""
        query = select(outbox_table.c.envelope).where(outbox_table.c.key == str(key)).order_by(outbox_table.c.id)
        if event_type is not None:
            query = query.where(outbox_table.c.event_type == event_type)
        async with self.sessionmaker() as session:
            return list((await session.scalars(query)).all())


@pytest.fixture(scope="module")
async def intake(postgres_server_url: str, kafka_server: KafkaServer, identity_keys: tuple[str, str],
                 identity_signer: Any) -> AsyncIterator[IntakeHarness]:
    name = f"t_intake_{uuid.uuid4().hex[:10]}"
    database_url = await create_migrated_database(postgres_server_url, name, ALEMBIC_INI)
    try:
        settings = IntakeSettings(
            # A consumer group of this module's own: it reads the real topic from the start, unaffected by others.
            service_name=f"intake-test-{uuid.uuid4().hex[:8]}",
            environment="test",
            database_url=database_url,
            kafka_bootstrap_servers=kafka_server.bootstrap_servers,
            identity_public_key=identity_keys[1],
            kafka_request_timeout_ms=5_000,
            kafka_session_timeout_ms=4_000,
            kafka_heartbeat_interval_ms=1_000,
            relay_poll_interval_s=0.05,
            consumer_retry_backoff_s=0.05,
            shutdown_drain_s=0.0,
        )
        app = create_app(settings)
        producer = new_producer(settings)
        await start_with_retry(producer)
        try:
            async with running_app(app) as client:
                yield IntakeHarness(app=app, client=client, settings=settings, signer=identity_signer,
                                    producer=producer)
        finally:
            await producer.stop()
    finally:
        with suppress(Exception):
            await drop_database(postgres_server_url, name)

