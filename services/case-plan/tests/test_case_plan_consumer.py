"""intake.persons.v1 through the real broker: a registered person gets exactly one case, and its events go out."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from case_plan.cases.models import Case
from case_plan.main import create_app
from sqlalchemy import func, select

from verbinding_common.contracts.intake import InterviewCompleted, PersonRegistered
from verbinding_common.db import outbox_table, processed_event_table
from verbinding_common.events import Envelope, build_envelope
from verbinding_common.kafka import new_producer, start_with_retry
from verbinding_testing.fixtures import eventually, running_app


def registered(person_id: uuid.UUID, recognised_on: date, languages: list[str]) -> PersonRegistered:
    return PersonRegistered(person_id=person_id, household_id=uuid.uuid4(), recognised_on=recognised_on,
                            gender="female", languages=languages, family_reunification=False)


async def test_person_registered_through_the_broker_opens_exactly_one_case_and_emits_its_events(
        app_settings, casework) -> None:
    anna = await casework.add_manager("cm-anna", capacity=1, languages=("ar",))
    assigned_person, waiting_person = uuid.uuid4(), uuid.uuid4()
    first = build_envelope(registered(assigned_person, date(2024, 1, 10), ["ar"]), source="intake")
    # intake publishing the same registration again under a new event id must not open a second case
    republished = build_envelope(registered(assigned_person, date(2024, 1, 10), ["ar"]), source="intake")
    second = build_envelope(registered(waiting_person, date(2024, 2, 1), ["fa"]), source="intake")
    interview = build_envelope(InterviewCompleted(person_id=assigned_person, education_isced_level=3,
                                                  years_of_work_experience=4, dutch_level="A1",
                                                  domains_of_need=["work", "language"]), source="intake")
    broken = Envelope(id=str(uuid.uuid4()), source="intake", type=PersonRegistered.event_type,
                      time=datetime.now(UTC), data={"person_id": "not-a-uuid"})

    app = create_app(app_settings)
    async with running_app(app):
        producer = new_producer(app_settings)
        await start_with_retry(producer)

        async def deliver(*envelopes: Envelope) -> None:
            for envelope in envelopes:
                await producer.send_and_wait(PersonRegistered.topic, value=envelope.to_bytes(),
                                             key=str(envelope.data["person_id"]).encode())

        async def handled(*envelopes: Envelope) -> None:
            ids = {envelope.id for envelope in envelopes}

            async def done() -> bool:
                async with casework.sessionmaker() as session:
                    return await session.scalar(select(func.count()).select_from(processed_event_table).where(
                        processed_event_table.c.consumer_group == app_settings.service_name,
                        processed_event_table.c.event_id.in_(ids))) == len(ids)

            await eventually(done, what=f"{len(ids)} events to be handled")

        try:
            # Different persons travel on different partitions: the second registration is sent once the
            # first is in, so that the first takes the only place.
            await deliver(first, first, broken, republished, interview)  # `first` is delivered twice
            await handled(first, republished)  # the interview is a type case-plan does not take: skipped
            await deliver(second)
            await handled(second)
        finally:
            await producer.stop()

        # A registration that breaks its contract is dead-lettered instead of blocking the consumer.
        consumer = app.state.runtime.consumers[0]

        async def dead_lettered() -> bool:
            return consumer.stats.dead_lettered == 1

        await eventually(dead_lettered, what="the broken registration to be dead-lettered")

        async with casework.sessionmaker() as session:
            cases = {c.person_id: c for c in await session.scalars(
                select(Case).where(Case.person_id.in_([assigned_person, waiting_person])))}
        assert len(cases) == 2  # and no case for the broken registration
        assigned, waiting = cases[assigned_person], cases[waiting_person]
        assert (assigned.status, assigned.case_manager_id) == ("assigned", anna.id)
        assert assigned.support_until == date(2027, 1, 10)
        assert waiting.status == "waitlisted"
        assert [e["type"] for e in await casework.events(assigned.id)] == [
            "case-plan.case-opened.v1", "case-plan.case-manager-assigned.v1"]
        assert (await casework.events(assigned.id))[1]["from_waitlist"] is False
        assert [e["type"] for e in await casework.events(waiting.id)] == [
            "case-plan.case-opened.v1", "case-plan.case-waitlisted.v1"]

        async def published() -> bool:
            async with casework.sessionmaker() as session:
                return await session.scalar(select(func.count()).select_from(outbox_table).where(
                    outbox_table.c.key.in_([str(assigned.id), str(waiting.id)]),
                    outbox_table.c.published_at.is_not(None))) == 4

        await eventually(published, what="the relay to publish the case events")
