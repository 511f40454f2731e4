"""Erasure in employment: intake's announcement erases a job seeker, their placements and retention checks (once,
in any order), keeping only anonymous participation counts; a job seeker goes by employment's own rule at the
latest; the access audit keeps its own retention. The clock is a parameter: nothing waits."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from employment.applications.models import Application, ApplicationStage, ApplicationStepRow
from employment.applications.service import propose, step
from employment.audit.models import AccessAuditTable
from employment.job_seekers.models import JobSeeker
from employment.placements.models import Placement, PlacementCreate, RetentionCheck
from employment.placements.service import record_outcome, start_placement
from employment.privacy.consumers import apply_privacy_events
from employment.privacy.jobs import apply_retention
from employment.privacy.models import ErasedPersonTable, ParticipationHistory
from employment.settings import EmploymentSettings
from employment.vacancies.models import EmployerCreate, VacancyCreate
from employment.vacancies.service import add_employer, add_vacancy
from employment_support import learn_events, person_events
from sqlalchemy import func, insert, select

from verbinding_common.contracts.case_plan import CaseClosed
from verbinding_common.contracts.intake import AccessAnswered, AccessRequested, PersonCorrected, PersonErased
from verbinding_common.db import outbox_table
from verbinding_common.jobs import JobContext
from verbinding_testing.consuming import apply_as_consumer


def context(sessionmaker, **settings) -> JobContext:
    return JobContext(settings=EmploymentSettings(environment="test", **settings), engine=None,  # type: ignore[arg-type]
                      sessionmaker=sessionmaker, state=None)


async def count(sessionmaker, table, *where) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(table).where(*where))


async def erased_at_intake(sessionmaker, *person_ids: uuid.UUID) -> None:
    async with sessionmaker() as session, session.begin():
        await apply_as_consumer(apply_privacy_events, session, *(PersonErased(person_id=p) for p in person_ids))


async def placed_in_sustainable_work(sessionmaker, person_id: uuid.UUID) -> None:
    async with sessionmaker() as session, session.begin():
        employer = await add_employer(session=session, employer=EmployerCreate(name="Hotel", sector="hospitality_food"))
        seeker = await session.get_one(JobSeeker, person_id)
        vacancy = await add_vacancy(session=session, vacancy=VacancyCreate(
            employer_id=employer.id, title="Cook", sector="hospitality_food", occupation="51", education_level=2,
            dutch_level="A2", hours_per_week=32, contract_type="permanent", location="Amsterdam",
            starts_on=date(2024, 2, 1)))
        application = await propose(session=session, seeker=seeker, vacancy_id=vacancy.id, recorded_by="jh",
                                    today=date(2024, 1, 10))
        await step(session=session, application=application, stage=ApplicationStage.applied, reason=None,
                   recorded_by="jh", today=date(2024, 1, 12))
        placement = await start_placement(session=session, seeker=seeker, recorded_by="jh", placement=PlacementCreate(
            employer_id=employer.id, contract_type="permanent", hours_per_week=32, sector="hospitality_food",
            started_on=date(2024, 2, 1)))
        check = await session.scalar(select(RetentionCheck).where(RetentionCheck.placement_id == placement.id,
                                                                  RetentionCheck.months == 12))
        await record_outcome(session=session, check=check, outcome="same_employer", recorded_by="jh",
                             today=date(2025, 2, 2))


async def history(sessionmaker) -> list[tuple]:
    async with sessionmaker() as session:
        rows = await session.execute(select(ParticipationHistory.cohort, ParticipationHistory.gender,
                                            ParticipationHistory.worked, ParticipationHistory.sustainable,
                                            ParticipationHistory.people).order_by(ParticipationHistory.worked))
        return [tuple(row) for row in rows]


async def test_intakes_erasure_erases_the_job_seeker_and_placements_keeping_anonymous_counts(sessionmaker) -> None:
    placed, idle = uuid.uuid4(), uuid.uuid4()
    await learn_events(sessionmaker, person_events(placed, recognised_on=date(2023, 1, 9)))
    await learn_events(sessionmaker, person_events(idle, recognised_on=date(2023, 5, 1), gender="male"))
    await placed_in_sustainable_work(sessionmaker, placed)

    assert await count(sessionmaker, ApplicationStepRow) > 0
    await erased_at_intake(sessionmaker, placed, idle)
    assert await count(sessionmaker, ApplicationStepRow) == 0
    for person_id in (placed, idle):
        assert await count(sessionmaker, JobSeeker, JobSeeker.person_id == person_id) == 0
        assert await count(sessionmaker, Placement, Placement.person_id == person_id) == 0
        assert await count(sessionmaker, RetentionCheck, RetentionCheck.person_id == person_id) == 0
        assert await count(sessionmaker, Application, Application.person_id == person_id) == 0
        assert await count(sessionmaker, outbox_table, outbox_table.c.key == str(person_id)) == 0
        assert await count(sessionmaker, ErasedPersonTable, ErasedPersonTable.c.person_id == person_id) == 1
    assert await history(sessionmaker) == [(2023, "male", False, False, 1), (2023, "female", True, True, 1)]

    await erased_at_intake(sessionmaker, placed, idle)  # again: nothing more is counted
    assert await history(sessionmaker) == [(2023, "male", False, False, 1), (2023, "female", True, True, 1)]


async def test_a_case_event_arriving_after_the_erasure_is_erased_by_the_next_run(sessionmaker) -> None:
    person_id = uuid.uuid4()
    await erased_at_intake(sessionmaker, person_id)
    await learn_events(sessionmaker, [CaseClosed(case_id=uuid.uuid4(), person_id=person_id, closed_on=date(2024, 1, 1),
                                                 reason="late")])
    assert await count(sessionmaker, JobSeeker, JobSeeker.person_id == person_id) == 1
    assert await apply_retention(context(sessionmaker)) == 1
    assert await count(sessionmaker, JobSeeker, JobSeeker.person_id == person_id) == 0


async def test_a_job_seeker_goes_by_employments_own_rule_after_the_case_closed(sessionmaker) -> None:
    closed, still_open = uuid.uuid4(), uuid.uuid4()
    await learn_events(sessionmaker, [*person_events(closed),
        CaseClosed(case_id=uuid.uuid4(), person_id=closed, closed_on=date(2025, 1, 1), reason="support ended")])
    await learn_events(sessionmaker, person_events(still_open))
    settings = {"job_seeker_retention_days": 30}
    assert await apply_retention(context(sessionmaker, **settings), now=datetime(2025, 1, 30, tzinfo=UTC)) == 0
    assert await apply_retention(context(sessionmaker, **settings), now=datetime(2025, 1, 31, tzinfo=UTC)) == 1
    assert await count(sessionmaker, JobSeeker, JobSeeker.person_id == closed) == 0
    assert await count(sessionmaker, JobSeeker, JobSeeker.person_id == still_open) == 1


async def test_the_access_audit_keeps_its_own_longer_retention(sessionmaker) -> None:
    old, recent, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        await session.execute(insert(AccessAuditTable), [
            {"at": now - timedelta(days=days), "subject": "jh", "roles": ["job_hunter"], "action": "GET /job-seekers",
             "record_kind": "job_seeker", "record_id": record_id, "outcome": "allowed"}
            for record_id, days in ((old, 1827), (recent, 1800))])
    await apply_retention(context(sessionmaker), now=now)
    assert await count(sessionmaker, AccessAuditTable, AccessAuditTable.c.record_id == old) == 0
    assert await count(sessionmaker, AccessAuditTable, AccessAuditTable.c.record_id == recent) == 1


async def test_a_correction_of_the_languages_replaces_the_copy_but_never_brings_an_erased_person_back(
        sessionmaker) -> None:
    person_id, erased = uuid.uuid4(), uuid.uuid4()
    await learn_events(sessionmaker, person_events(person_id))
    await erased_at_intake(sessionmaker, erased)
    async with sessionmaker() as session, session.begin():
        await apply_as_consumer(apply_privacy_events, session,
                                PersonCorrected(person_id=person_id, languages=["ti"]),
                                PersonCorrected(person_id=erased, languages=["ti"]))
    async with sessionmaker() as session:
        assert (await session.get_one(JobSeeker, person_id)).languages == ["ti"]
    assert await count(sessionmaker, JobSeeker, JobSeeker.person_id == erased) == 0


async def test_an_access_request_is_answered_with_every_record_of_the_person_and_nobody_elses(sessionmaker) -> None:
    person_id, other = uuid.uuid4(), uuid.uuid4()
    await learn_events(sessionmaker, person_events(person_id) + person_events(other, gender="male"))
    await placed_in_sustainable_work(sessionmaker, person_id)
    request_id = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        await apply_as_consumer(apply_privacy_events, session,
                                AccessRequested(request_id=request_id, person_id=person_id))
    async with sessionmaker() as session:
        [answer] = (await session.scalars(select(outbox_table.c.envelope).where(
            outbox_table.c.event_type == AccessAnswered.event_type))).all()
    data = answer["data"]
    assert (data["request_id"], data["service"]) == (str(request_id), "employment")
    tables = {record["table"]: record for record in data["records"]}
    assert set(tables) == {"job_seeker", "application", "application_step", "placement", "retention_check"}
    assert len(tables["retention_check"]["rows"]) == 3
    assert tables["placement"]["rows"][0]["sector"] == {"value": "hospitality_food", "purpose": "monitoring by sector"}
    assert str(other) not in str(data)
