"""Keeping the recognition status projection: moved forward only, by registrations, rejections and case facts."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseWaitlisted
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.contracts.intake import RecognitionRejected, RejectionReason
from verbinding_common.outbox import add_events

from .models import STAGES, RecognitionProgress, RecognitionStatusRead

CaseProgress = CaseManagerAssigned | CaseWaitlisted | CaseClosed
_CASE_STATUS = {CaseManagerAssigned: "case_manager_assigned", CaseWaitlisted: "waitlisted", CaseClosed: "case_closed"}


def rejection_reason(recognition: StatusRecognised) -> RejectionReason | None:
    """The rule a recognition breaks that intake checks beyond its contract, if any (the first, in a fixed order)."""
    texts = [value for value in recognition.model_dump().values() if isinstance(value, str)]
    texts += list(recognition.languages)
    if any("\x00" in text for text in texts):
        return RejectionReason.unstorable_text
    if recognition.family_reunification_with == recognition.coa_registration_number:
        return RejectionReason.partner_is_self
    return None


async def reject_recognitions(*, session: AsyncSession,
                              rejected: Sequence[tuple[str, RejectionReason, object]]) -> None:
    """Announce each (COA number, reason, the recognition that caused it) intake cannot take in (the number and the
    reason code only) and mark it rejected."""
    if not rejected:
        return
    await add_events(session, [(RecognitionRejected(coa_registration_number=number, reason=reason), number, cause)
                               for number, reason, cause in rejected])
    await _move(session=session, rows=[
        {"coa_registration_number": number, "status": "rejected", "reason": reason.value, "person_id": None}
        for number, reason, _ in rejected])


async def note_registrations(*, session: AsyncSession, registered: Sequence[tuple[str, UUID]]) -> None:
    """Mark each (COA number, person id) as registered, over any earlier rejection of the same number."""
    await _move(session=session, rows=[
        {"coa_registration_number": number, "status": "person_registered", "reason": None, "person_id": person_id}
        for number, person_id in registered])


async def _move(*, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or move forward (a later rejection of a still rejected number refreshes its reason); the last row of
    a number wins within one call."""
    latest = {row["coa_registration_number"]: {**row, "stage": STAGES[row["status"]]} for row in rows}
    if not latest:
        return
    statement = pg_insert(RecognitionProgress).values(list(latest.values()))
    table = RecognitionProgress
    await session.execute(statement.on_conflict_do_update(
        index_elements=[table.coa_registration_number],
        set_={"status": statement.excluded.status, "stage": statement.excluded.stage,
              "reason": statement.excluded.reason, "updated_at": func.now(),
              "person_id": func.coalesce(statement.excluded.person_id, table.person_id)},
        where=or_(statement.excluded.stage > table.stage,
                  (statement.excluded.stage == STAGES["rejected"]) & (table.stage == STAGES["rejected"]))))


async def follow_cases(*, session: AsyncSession, facts: Sequence[object]) -> None:
    """Move the status of each person's recognition along with their case: waitlisted, assigned, closed (case-plan's
    facts, in their order; one of an earlier stage than the status changes nothing)."""
    moves = [{"person": fact.person_id, "case": fact.case_id, "new_status": _CASE_STATUS[type(fact)],
              "new_stage": STAGES[_CASE_STATUS[type(fact)]]}
             for fact in facts if isinstance(fact, CaseManagerAssigned | CaseWaitlisted | CaseClosed)]
    if not moves:
        return
    table = RecognitionProgress.__table__
    # Core, not ORM: one statement executed per fact, in their order.
    await session.execute(
        update(table)
        .where(table.c.person_id == bindparam("person"), table.c.stage < bindparam("new_stage"))
        .values(status=bindparam("new_status"), stage=bindparam("new_stage"), case_id=bindparam("case"),
                updated_at=func.now()),
        moves)


async def recognition_status(*, session: AsyncSession, coa_registration_number: str) -> RecognitionStatusRead | None:
    """How far the recognition of a COA number got; None if intake has not taken it in or rejected it (yet)."""
    progress = await session.scalar(select(RecognitionProgress).where(
        RecognitionProgress.coa_registration_number == coa_registration_number))
    return RecognitionStatusRead.of(progress) if progress is not None else None
