"""Placements and retention checks: starting and ending work, checks that come due by their stored dates.

A retention check is a row written when the placement starts, with its due date: it is due from that date on, by
itself, whatever restarts happen in between, and it stays on the job hunter's list until an outcome is recorded.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.auth import Identity, Role
from verbinding_common.contracts.employment import (
    ContractType,
    PlacementEnded,
    PlacementEndReason,
    PlacementStarted,
    RetentionCheckDue,
    RetentionChecked,
    RetentionCheckOverdue,
    RetentionOutcome,
    Sector,
)
from verbinding_common.errors import Conflict, RuleViolated
from verbinding_common.jobs import Job, JobContext
from verbinding_common.outbox import add_event

from ..job_seekers.models import JobSeeker
from ..job_seekers.service import job_hunter_of
from ..settings import EmploymentSettings
from ..vacancies.models import Employer, Vacancy
from .models import (
    RETENTION_MONTHS,
    EmploymentSummary,
    Placement,
    PlacementCreate,
    PlacementRead,
    RetentionCheck,
    RetentionCheckRead,
)

OVERDUE_AFTER = timedelta(days=30)
log = logging.getLogger(__name__)


def add_months(start: date, months: int) -> date:
    """The same day `months` later; a day the month lacks becomes its last day (31 Aug + 6 months = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


async def start_placement(*, session: AsyncSession, seeker: JobSeeker, placement: PlacementCreate,
                          recorded_by: str) -> Placement:
    """Record that the job seeker started work, take one opening of the vacancy, and plan the retention checks."""
    if await session.get(Employer, placement.employer_id) is None:
        raise RuleViolated(f"no employer {placement.employer_id}")
    if placement.vacancy_id is not None:
        taken = await session.scalar(
            update(Vacancy).where(Vacancy.id == placement.vacancy_id, Vacancy.employer_id == placement.employer_id,
                                  Vacancy.openings > 0)
            .values(openings=Vacancy.openings - 1).returning(Vacancy.id))
        if taken is None:
            raise RuleViolated(f"vacancy {placement.vacancy_id} of this employer has no opening left")
    row = Placement(person_id=seeker.person_id, recorded_by=recorded_by, **placement.model_dump())
    session.add(row)
    await session.flush()
    session.add_all([RetentionCheck(placement_id=row.id, person_id=seeker.person_id, months=months,
                                    due_on=add_months(row.started_on, months)) for months in RETENTION_MONTHS])
    await add_event(session, PlacementStarted(
        placement_id=row.id, person_id=row.person_id, contract_type=ContractType(row.contract_type),
        hours_per_week=row.hours_per_week, sector=Sector(row.sector), started_on=row.started_on, ends_on=row.ends_on),
        key=str(row.person_id))
    await session.flush()
    return row


async def end_placement(*, session: AsyncSession, placement: Placement, ended_on: date,
                        reason: PlacementEndReason) -> Placement:
    """Record the end of a placement and why; its retention checks stay (they ask whether the person works)."""
    if placement.ended_on is not None:
        raise Conflict(f"placement {placement.id} has ended already")
    if ended_on < placement.started_on:
        raise RuleViolated("ended_on is before the placement started")
    placement.ended_on, placement.end_reason = ended_on, reason
    await session.flush()
    await add_event(session, PlacementEnded(placement_id=placement.id, person_id=placement.person_id,
                                            ended_on=ended_on, reason=reason),
                    key=str(placement.person_id))
    return placement


async def record_outcome(*, session: AsyncSession, check: RetentionCheck, outcome: RetentionOutcome,
                         recorded_by: str, today: date) -> RetentionCheck:
    """Record a retention check's outcome, once, and not before it is due."""
    if check.outcome is not None:
        raise Conflict(f"retention check {check.id} has an outcome already")
    if check.due_on > today:
        raise Conflict(f"retention check {check.id} is not due before {check.due_on}")
    check.outcome, check.recorded_by, check.recorded_at = outcome, recorded_by, datetime.now(UTC)
    await session.flush()
    await add_event(session, RetentionChecked(placement_id=check.placement_id, person_id=check.person_id,
                                              months=check.months, due_on=check.due_on, outcome=outcome),
                    key=str(check.person_id))
    return check


async def due_checks(*, session: AsyncSession, identity: Identity, today: date,
                     overdue_only: bool = False) -> list[RetentionCheckRead]:
    """Open retention checks due by `today`, oldest first: a job hunter's own job seekers', or, for a team lead,
    everyone's, each with whose list it is on. Overdue: still open 30 days after the due date (`overdue_only`: the
    team lead's escalations)."""
    last_due = today - OVERDUE_AFTER - timedelta(days=1) if overdue_only else today
    query = (select(RetentionCheck, JobSeeker.job_hunter_id)
             .join(JobSeeker, JobSeeker.person_id == RetentionCheck.person_id)
             .where(RetentionCheck.outcome.is_(None), RetentionCheck.due_on <= last_due))
    if Role.team_lead not in identity.roles:
        hunter = await job_hunter_of(session=session, identity=identity)
        if hunter is None:
            return []
        query = query.where(JobSeeker.job_hunter_id == hunter.id)
    rows = await session.execute(query.order_by(RetentionCheck.due_on, RetentionCheck.id))
    return [RetentionCheckRead.of(check, overdue=check.due_on + OVERDUE_AFTER < today, job_hunter_id=hunter_id)
            for check, hunter_id in rows]


async def announce_checks(*, session: AsyncSession, today: date) -> tuple[int, int]:
    """Announce, once each, the open checks that came due by `today` (to their job hunter) and those now overdue
    (escalated to the team leads); rows another process is announcing are skipped. The numbers announced."""
    due = (await session.execute(
        select(RetentionCheck, JobSeeker.job_hunter_id).join(JobSeeker, JobSeeker.person_id == RetentionCheck.person_id)
        .where(RetentionCheck.outcome.is_(None), RetentionCheck.announced_on.is_(None),
               RetentionCheck.due_on <= today)
        .order_by(RetentionCheck.due_on, RetentionCheck.id).with_for_update(of=RetentionCheck, skip_locked=True)
        .limit(1000))).all()
    for check, hunter_id in due:
        check.announced_on = today
        await add_event(session, RetentionCheckDue(
            retention_check_id=check.id, placement_id=check.placement_id, person_id=check.person_id,
            job_hunter_id=hunter_id, months=check.months, due_on=check.due_on), key=str(check.person_id))
    overdue = (await session.execute(
        select(RetentionCheck, JobSeeker.job_hunter_id).join(JobSeeker, JobSeeker.person_id == RetentionCheck.person_id)
        .where(RetentionCheck.outcome.is_(None), RetentionCheck.escalated_on.is_(None),
               RetentionCheck.due_on < today - OVERDUE_AFTER)
        .order_by(RetentionCheck.due_on, RetentionCheck.id).with_for_update(of=RetentionCheck, skip_locked=True)
        .limit(1000))).all()
    for check, hunter_id in overdue:
        check.escalated_on = today
        await add_event(session, RetentionCheckOverdue(
            retention_check_id=check.id, placement_id=check.placement_id, person_id=check.person_id,
            job_hunter_id=hunter_id, months=check.months, due_on=check.due_on), key=str(check.person_id))
    await session.flush()
    return len(due), len(overdue)


def retention_announcements(settings: EmploymentSettings) -> Job:
    """Every `retention_announce_interval_s`, announce the retention checks come due or overdue by today."""

    async def announce(context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            due, overdue = await announce_checks(session=session, today=date.today())
        if due or overdue:
            log.info("announced %d due and %d overdue retention check(s)", due, overdue)

    return Job(name="retention-announcements", run=announce, interval_s=settings.retention_announce_interval_s)


async def find_placement(*, session: AsyncSession, placement_id: UUID) -> Placement | None:
    """A placement, or None."""
    return await session.get(Placement, placement_id)


async def find_check(*, session: AsyncSession, retention_check_id: UUID) -> RetentionCheck | None:
    """A retention check, or None."""
    return await session.get(RetentionCheck, retention_check_id)


async def placements_of(*, session: AsyncSession, person_id: UUID, today: date) -> list[PlacementRead]:
    """The person's placements, latest first, each with its retention checks."""
    placements = (await session.scalars(select(Placement).where(Placement.person_id == person_id)
                                        .order_by(Placement.started_on.desc(), Placement.id))).all()
    checks = (await session.scalars(select(RetentionCheck).where(RetentionCheck.person_id == person_id)
                                    .order_by(RetentionCheck.due_on))).all()
    return [describe(placement, [c for c in checks if c.placement_id == placement.id], today=today)
            for placement in placements]


async def describe_placement(*, session: AsyncSession, placement: Placement, today: date) -> PlacementRead:
    """One placement with its retention checks, as the API shows it."""
    checks = (await session.scalars(select(RetentionCheck).where(RetentionCheck.placement_id == placement.id)
                                    .order_by(RetentionCheck.due_on))).all()
    return describe(placement, checks, today=today)


def describe(placement: Placement, checks: Sequence[RetentionCheck], *, today: date) -> PlacementRead:
    """A placement as the API shows it."""
    return PlacementRead(
        placement_id=placement.id, person_id=placement.person_id, employer_id=placement.employer_id,
        vacancy_id=placement.vacancy_id, contract_type=placement.contract_type,  # type: ignore[arg-type]
        hours_per_week=placement.hours_per_week, sector=placement.sector,  # type: ignore[arg-type]
        started_on=placement.started_on, ends_on=placement.ends_on, ended_on=placement.ended_on,
        end_reason=placement.end_reason,  # type: ignore[arg-type]
        retention_checks=[RetentionCheckRead.of(c, overdue=c.outcome is None and c.due_on + OVERDUE_AFTER < today)
                          for c in checks])


async def employment_summary(*, session: AsyncSession, seeker: JobSeeker, today: date) -> EmploymentSummary:
    """The person overview's employment section: employed or not, placements, the next retention check."""
    placements = await placements_of(session=session, person_id=seeker.person_id, today=today)
    open_checks = sorted((c for p in placements for c in p.retention_checks if c.outcome is None),
                         key=lambda c: (c.due_on, str(c.retention_check_id)))
    employed = any(p.started_on <= today and (p.ended_on is None or p.ended_on > today) for p in placements)
    return EmploymentSummary(person_id=seeker.person_id, job_hunter_id=seeker.job_hunter_id, employed=employed,
                             placements=placements, next_retention_check=open_checks[0] if open_checks else None)
