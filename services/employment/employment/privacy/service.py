"""Erasing what employment holds about persons (on intake's announcement, or when their retention after the case
closed ran out), keeping only anonymous participation counts; the sweep of late copies; the access audit's own
retention."""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.db import outbox_table

from ..applications.models import Application, ApplicationStepRow
from ..audit.models import AccessAuditTable
from ..job_seekers.models import JobSeeker
from ..job_seekers.service import learn
from ..monitoring.service import SUSTAINABLE_MIN_HOURS
from ..placements.models import Placement, RetentionCheck
from .models import ErasedPersonTable, ParticipationHistory

# Per erased person with a known cohort: whether they ever worked, and in sustainable work within 3 years of
# recognition (docs/employment-matching.md, "Monitoring").
_OUTCOMES = text("""
    SELECT CAST(extract(year FROM js.recognised_on) AS int) AS cohort, coalesce(js.gender, '') AS gender,
           EXISTS (SELECT 1 FROM placement p WHERE p.person_id = js.person_id) AS worked,
           EXISTS (SELECT 1 FROM placement p
                   JOIN retention_check r ON r.placement_id = p.id AND r.months = 12 AND r.outcome = 'same_employer'
                   WHERE p.person_id = js.person_id AND p.hours_per_week >= :min_hours
                     AND p.started_on < js.recognised_on + make_interval(years => 3)) AS sustainable
    FROM job_seeker js
    WHERE js.person_id = ANY(:person_ids) AND js.recognised_on IS NOT NULL
""")


async def erase_persons(*, session: AsyncSession, person_ids: Sequence[UUID]) -> int:
    """Erase the job seekers, placements and retention checks of these persons and remember their ids; each person
    counts once in the anonymous participation history. Idempotent: returns how many job seekers were erased."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return 0
    await session.execute(pg_insert(ErasedPersonTable).values([{"person_id": person_id} for person_id in ids])
                          .on_conflict_do_nothing())
    return await _erase(session=session, person_ids=ids)


async def correct_languages(*, session: AsyncSession, person_id: UUID, languages: list[str]) -> None:
    """Replace the copy of a person's languages (the job seeker is created if intake's registration is yet to come:
    events arrive in any order), unless the person was erased."""
    erased = await session.scalar(select(ErasedPersonTable.c.person_id)
                                  .where(ErasedPersonTable.c.person_id == person_id))
    if erased is None:
        await learn(session=session, person_id=person_id, languages=list(languages))


async def sweep_erased(*, session: AsyncSession) -> int:
    """Erase again what events that arrived after an erasure brought back (case-plan's late case facts)."""
    erased = list(await session.scalars(select(ErasedPersonTable.c.person_id).where(
        ErasedPersonTable.c.person_id.in_(select(JobSeeker.person_id)))))
    return await _erase(session=session, person_ids=erased) if erased else 0


async def persons_past_retention(*, session: AsyncSession, today: date, retention_days: int,
                                 limit: int) -> list[UUID]:
    """Job seekers whose case closed more than the retention ago (intake's erasure may not have come)."""
    return list(await session.scalars(
        select(JobSeeker.person_id).where(JobSeeker.case_closed_on <= today - timedelta(days=retention_days))
        .order_by(JobSeeker.person_id).limit(limit)))


async def purge_access_audit(*, session: AsyncSession, now: datetime, retention_days: int) -> None:
    await session.execute(delete(AccessAuditTable).where(AccessAuditTable.c.at < now - timedelta(days=retention_days)))


async def _erase(*, session: AsyncSession, person_ids: list[UUID]) -> int:
    outcomes = (await session.execute(_OUTCOMES, {"person_ids": person_ids,
                                                  "min_hours": SUSTAINABLE_MIN_HOURS})).all()
    history: dict[tuple[int, str, bool, bool], int] = {}
    for row in outcomes:
        key = (row.cohort, row.gender, row.worked, row.sustainable)
        history[key] = history.get(key, 0) + 1
    if history:
        statement = pg_insert(ParticipationHistory).values([
            {"cohort": cohort, "gender": gender, "worked": worked, "sustainable": sustainable, "people": n}
            for (cohort, gender, worked, sustainable), n in history.items()])
        await session.execute(statement.on_conflict_do_update(
            constraint=ParticipationHistory.__table__.primary_key,
            set_={"people": ParticipationHistory.people + statement.excluded.people}))
    placements = list(await session.scalars(select(Placement.id).where(Placement.person_id.in_(person_ids))))
    await session.execute(delete(RetentionCheck).where(RetentionCheck.person_id.in_(person_ids)))
    applications = select(Application.id).where(Application.person_id.in_(person_ids)).scalar_subquery()
    await session.execute(delete(ApplicationStepRow).where(ApplicationStepRow.application_id.in_(applications)))
    await session.execute(delete(Application).where(Application.person_id.in_(person_ids)))
    await session.execute(delete(Placement).where(Placement.person_id.in_(person_ids)))
    erased = (await session.execute(delete(JobSeeker).where(JobSeeker.person_id.in_(person_ids)))).rowcount
    keys = [str(person_id) for person_id in person_ids] + [str(placement_id) for placement_id in placements]
    await session.execute(delete(outbox_table).where(outbox_table.c.key.in_(keys)))
    return erased
