"""Job seekers come from intake's and case-plan's events alone, as codes: no name, birth date or COA number."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from employment.job_seekers.models import JobSeeker
from employment.main import create_app
from employment_support import learn_events, person_events
from sqlalchemy import event, func, select, text

from verbinding_common.contracts.case_plan import CaseClosed, CaseOpened
from verbinding_common.contracts.intake import PersonRegistered
from verbinding_common.db import processed_event_table
from verbinding_common.events import Envelope, build_envelope
from verbinding_common.kafka import new_producer, start_with_retry
from verbinding_testing.fixtures import eventually, running_app


async def test_person_events_through_the_broker_make_a_job_seeker_whatever_order_they_come_in(
        app_settings, sessionmaker) -> None:
    person_id = uuid.uuid4()
    registered, interviewed, opened = person_events(person_id, recognised_on=date(2023, 8, 31), education=6)
    # case-plan's event first: the topics are independent, so it may overtake intake's.
    envelopes = [build_envelope(e, source="test") for e in (opened, registered, interviewed)]
    broken = Envelope(id=str(uuid.uuid4()), source="intake", type=PersonRegistered.event_type,
                      time=datetime.now(UTC), data={"person_id": "not-a-uuid"})

    app = create_app(app_settings)
    async with running_app(app):
        producer = new_producer(app_settings)
        await start_with_retry(producer)
        try:
            for envelope, topic in zip([*envelopes, broken], [CaseOpened.topic, *[PersonRegistered.topic] * 3],
                                       strict=True):
                await producer.send_and_wait(topic, value=envelope.to_bytes(), key=str(person_id).encode())
        finally:
            await producer.stop()

        async def handled() -> bool:
            async with sessionmaker() as session:
                return await session.scalar(select(func.count()).select_from(processed_event_table).where(
                    processed_event_table.c.event_id.in_([e.id for e in envelopes]))) == 3

        await eventually(handled, what="the three events to be handled")
        consumer = app.state.runtime.consumers[0]

        async def dead_lettered() -> bool:
            return consumer.stats.dead_lettered == 1

        await eventually(dead_lettered, what="the broken registration to be dead-lettered")

    async with sessionmaker() as session:
        seeker = await session.get_one(JobSeeker, person_id)
    assert (seeker.recognised_on, seeker.gender, seeker.languages) == (date(2023, 8, 31), "female", ["ar", "en"])
    assert (seeker.education_level, seeker.occupation, seeker.years_of_experience, seeker.dutch_level) == \
        (6, "22", 5, "B1")
    assert seeker.case_id == opened.case_id and seeker.case_closed_on is None


async def test_the_records_about_people_have_no_column_for_a_name_birth_date_or_coa_number(sessionmaker) -> None:
    async with sessionmaker() as session:
        columns = (await session.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name IN ('job_seeker', 'placement', 'retention_check')"))).all()
    assert {c for t, c in columns if t == "job_seeker"} == {
        "person_id", "recognised_on", "gender", "languages", "education_level", "occupation", "years_of_experience",
        "dutch_level", "hours_wanted", "case_id", "case_manager_id", "case_closed_on", "job_hunter_id",
        "first_seen_at", "district"}  # district: one of 9 city districts, never an address
    assert [(t, c) for t, c in columns if any(word in c for word in ("name", "birth", "coa", "born", "address"))] \
        == []


async def test_a_closed_case_takes_the_job_seeker_off_the_lists_but_keeps_them_for_the_figures(
        sessionmaker, api, as_role) -> None:
    person_id = uuid.uuid4()
    events = person_events(person_id)
    await learn_events(sessionmaker, events)
    assert [s["person_id"] for s in (await api.get("/job-seekers", headers=as_role("team_lead"))).json()] == \
        [str(person_id)]
    await learn_events(sessionmaker, [CaseClosed(case_id=events[2].case_id, person_id=person_id,
                                                 closed_on=date(2025, 1, 1), reason="moved away")])
    assert (await api.get("/job-seekers", headers=as_role("team_lead"))).json() == []
    async with sessionmaker() as session:
        assert (await session.get_one(JobSeeker, person_id)).case_closed_on == date(2025, 1, 1)


async def test_a_fetch_of_people_is_learnt_in_one_statement_per_set_of_fields_and_each_persons_later_fact_wins(
        sessionmaker) -> None:
    people = [uuid.uuid4() for _ in range(50)]
    events = [fact for person_id in people for fact in person_events(person_id)]
    closing = CaseClosed(case_id=events[2].case_id, person_id=people[0], closed_on=date(2025, 3, 1), reason="moved")
    reopened = CaseOpened(case_id=uuid.uuid4(), person_id=people[0], recognised_on=date(2024, 1, 15),
                          support_until=date(2027, 1, 15))
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    engine = sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await learn_events(sessionmaker, [*events, closing, reopened])
    finally:
        event.remove(engine, "before_cursor_execute", record)

    # 153 events, 50 people, two sets of fields (the first person's case closed too): two upserts, not 153.
    assert len([s for s in statements if "job_seeker" in s]) == 2
    async with sessionmaker() as session:
        first = await session.get_one(JobSeeker, people[0])
        last = await session.get_one(JobSeeker, people[-1])
    assert (first.case_id, first.case_closed_on) == (reopened.case_id, date(2025, 3, 1))
    assert (last.recognised_on, last.education_level, last.case_id) == (date(2024, 1, 15), 6, events[-1].case_id)
