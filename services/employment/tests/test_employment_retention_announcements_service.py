"""Retention checks come to the job hunter: a check that came due is announced once (an event a front-end shows),
and one still open 30 days later is escalated once to the team leads; the lists show whose list a check is on."""

from __future__ import annotations

import uuid
from datetime import date

from employment.job_seekers.models import JobSeeker
from employment.job_seekers.service import add_job_hunter, assign_job_hunter
from employment.placements.models import PlacementCreate, RetentionCheck
from employment.placements.service import announce_checks, due_checks, record_outcome, start_placement
from employment.vacancies.models import EmployerCreate
from employment.vacancies.service import add_employer
from employment_support import learn_events, person_events
from sqlalchemy import select

from verbinding_common.auth import Identity, Role
from verbinding_common.contracts.employment import RetentionCheckDue, RetentionCheckOverdue
from verbinding_common.db import outbox_table


async def announced(sessionmaker) -> list[tuple[str, int, str | None]]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(outbox_table.c.event_type, outbox_table.c.envelope).where(
            outbox_table.c.event_type.in_([RetentionCheckDue.event_type, RetentionCheckOverdue.event_type]))
            .order_by(outbox_table.c.id))).all()
    return [(row.event_type.split(".")[1], row.envelope["data"]["months"], row.envelope["data"]["job_hunter_id"])
            for row in rows]


async def test_due_checks_are_announced_once_and_overdue_ones_escalated_once(sessionmaker) -> None:
    person_id = uuid.uuid4()
    await learn_events(sessionmaker, person_events(person_id))
    async with sessionmaker() as session, session.begin():
        hunter = await add_job_hunter(session=session, subject="jh-eva", name="Eva")
        await assign_job_hunter(session=session, person_id=person_id, job_hunter_id=hunter.id)
        employer = await add_employer(session=session, employer=EmployerCreate(name="Hotel", sector="other"))
        seeker = await session.get_one(JobSeeker, person_id)
        await start_placement(session=session, seeker=seeker, recorded_by="jh-eva", placement=PlacementCreate(
            employer_id=employer.id, contract_type="permanent", hours_per_week=32, sector="care",
            started_on=date(2025, 1, 15)))

    async def run(today: date) -> tuple[int, int]:
        async with sessionmaker() as session, session.begin():
            return await announce_checks(session=session, today=today)

    assert await run(date(2025, 7, 14)) == (0, 0), "the 6-month check is due on 15 July"
    assert await run(date(2025, 7, 15)) == (1, 0)
    assert await run(date(2025, 7, 16)) == (0, 0), "announced once"
    assert await run(date(2025, 8, 14)) == (0, 0), "30 days open is not yet overdue"
    assert await run(date(2025, 8, 15)) == (0, 1)
    assert await run(date(2025, 9, 1)) == (0, 0), "escalated once"
    me = str(hunter.id)
    assert await announced(sessionmaker) == [("retention-check-due", 6, me), ("retention-check-overdue", 6, me)]

    lead = Identity(subject="tl-ann", kind="user", roles=[Role.team_lead])
    async with sessionmaker() as session:
        escalations = await due_checks(session=session, identity=lead, today=date(2025, 8, 15), overdue_only=True)
        not_yet = await due_checks(session=session, identity=lead, today=date(2025, 8, 14), overdue_only=True)
    assert [(c.months, c.overdue, c.job_hunter_id) for c in escalations] == [(6, True, hunter.id)]
    assert not_yet == []

    async with sessionmaker() as session, session.begin():
        [check] = escalations
        row = await session.get_one(RetentionCheck, check.retention_check_id)
        await record_outcome(session=session, check=row, outcome="same_employer", recorded_by="jh-eva",
                             today=date(2025, 9, 2))
    assert await run(date(2026, 1, 15)) == (1, 0), "the 12-month check in its turn; the answered one is done"
