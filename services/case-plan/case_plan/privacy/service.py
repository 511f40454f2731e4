"""Erasing what case-plan holds about persons (on intake's announcement, or when a closed case's retention ran out),
keeping only anonymous caseload counts; the sweep of late copies; the access audit's own retention."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.db import outbox_table

from ..action_plans.models import ActionPlan
from ..audit.models import AccessAuditTable
from ..case_managers.models import CaseManager
from ..cases.models import Case, CaseStatus
from ..cases.service import fill_from_waitlist, lock_assignments
from ..employment.models import KnownPlacement
from .models import CaseHistory, ErasedPersonTable


async def erase_persons(*, session: AsyncSession, person_ids: Sequence[UUID], now: datetime) -> int:
    """Erase the cases, action plans and placements of these persons and remember their ids; each case counts once
    in the anonymous caseload history, and a place an open case held goes to the waitlist's head. Idempotent:
    returns how many cases were erased."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return 0
    await session.execute(pg_insert(ErasedPersonTable).values([{"person_id": person_id} for person_id in ids])
                          .on_conflict_do_nothing())
    return await _erase_cases(session=session, person_ids=ids, now=now)


async def correct_languages(*, session: AsyncSession, person_id: UUID, languages: list[str]) -> None:
    """Replace the copy of a person's languages on their case (a waitlisted case is assigned by them)."""
    await session.execute(update(Case).where(Case.person_id == person_id)
                          .values(languages=list(dict.fromkeys(language.lower() for language in languages))))


async def sweep_erased(*, session: AsyncSession, now: datetime) -> int:
    """Erase again what events that arrived after an erasure brought back (a late registration opens a case)."""
    erased = list(await session.scalars(
        select(ErasedPersonTable.c.person_id).where(ErasedPersonTable.c.person_id.in_(
            select(Case.person_id).union(select(KnownPlacement.person_id))))))
    return await _erase_cases(session=session, person_ids=erased, now=now) if erased else 0


async def persons_of_expired_cases(*, session: AsyncSession, now: datetime, retention_days: int,
                                   limit: int) -> list[UUID]:
    """Persons whose case closed more than the retention ago (intake's erasure may not have come), at most `limit`."""
    return list(await session.scalars(
        select(Case.person_id).where(Case.status == CaseStatus.closed,
                                     Case.closed_at <= now - timedelta(days=retention_days))
        .order_by(Case.person_id).limit(limit)))


async def purge_access_audit(*, session: AsyncSession, now: datetime, retention_days: int) -> None:
    await session.execute(delete(AccessAuditTable).where(AccessAuditTable.c.at < now - timedelta(days=retention_days)))


async def _erase_cases(*, session: AsyncSession, person_ids: list[UUID], now: datetime) -> int:
    cases = (await session.execute(
        select(Case.id, Case.status, Case.case_manager_id, Case.closed_at)
        .where(Case.person_id.in_(person_ids)).with_for_update())).all()
    await session.execute(delete(KnownPlacement).where(KnownPlacement.person_id.in_(person_ids)))
    # Answers to access requests still held for publication name the person.
    await session.execute(delete(outbox_table).where(outbox_table.c.key.in_([str(p) for p in person_ids])))
    if not cases:
        return 0
    held = [case.case_manager_id for case in cases if case.status == CaseStatus.assigned]
    if held:
        await lock_assignments(session=session)
        for manager_id in held:
            await session.execute(update(CaseManager).where(CaseManager.id == manager_id)
                                  .values(active_cases=CaseManager.active_cases - 1))
    history: dict[tuple[str, int], int] = {}
    for case in cases:
        key = (str(case.case_manager_id or ""), (case.closed_at or now).year)
        history[key] = history.get(key, 0) + 1
    statement = pg_insert(CaseHistory).values([{"case_manager_id": manager, "closed_year": year, "cases": n}
                                               for (manager, year), n in history.items()])
    await session.execute(statement.on_conflict_do_update(
        index_elements=[CaseHistory.case_manager_id, CaseHistory.closed_year],
        set_={"cases": CaseHistory.cases + statement.excluded.cases}))
    case_ids = [case.id for case in cases]
    await session.execute(delete(ActionPlan).where(ActionPlan.case_id.in_(case_ids)))  # objectives cascade
    await session.execute(delete(Case).where(Case.id.in_(case_ids)))
    await session.execute(delete(outbox_table).where(outbox_table.c.key.in_([str(case_id) for case_id in case_ids])))
    if held:
        await fill_from_waitlist(session=session)
    return len(case_ids)
