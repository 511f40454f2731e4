"""Keeping the recognition status projection: moved forward only, by registrations, rejections and case facts."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select, text
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
    # The fields as stored on the model: model_dump() converted every field of every recognition for this.
    texts = [value for value in vars(recognition).values() if isinstance(value, str)]
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


# Constant text, one row per number from the arrays: compiled and prepared once (a multi-row VALUES is compiled
# anew for every batch, which cost more than the rest of the write).
_MOVE = text(f"""
    INSERT INTO recognition_progress AS progress (coa_registration_number, status, stage, reason, person_id)
    SELECT * FROM unnest(CAST(:numbers AS text[]), CAST(:statuses AS text[]), CAST(:stages AS smallint[]),
                         CAST(:reasons AS text[]), CAST(:person_ids AS uuid[]))
    ON CONFLICT (coa_registration_number) DO UPDATE
    SET status = excluded.status, stage = excluded.stage, reason = excluded.reason, updated_at = now(),
        person_id = coalesce(excluded.person_id, progress.person_id)
    WHERE excluded.stage > progress.stage
       OR (excluded.stage = {STAGES["rejected"]} AND progress.stage = {STAGES["rejected"]})
""")


async def _move(*, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or move forward (a later rejection of a still rejected number refreshes its reason); the last row of
    a number wins within one call."""
    latest = {row["coa_registration_number"]: row for row in rows}
    if not latest:
        return
    await session.execute(_MOVE, {
        "numbers": list(latest), "statuses": [row["status"] for row in latest.values()],
        "stages": [STAGES[row["status"]] for row in latest.values()],
        "reasons": [row["reason"] for row in latest.values()],
        "person_ids": [row["person_id"] for row in latest.values()]})


# Statuses only move forward, so a fetch's facts applied in order leave each person at the first of their facts of
# the highest stage: that one fact per person, all in one statement.
_FOLLOW_CASES = text("""
    UPDATE recognition_progress AS progress
    SET status = moved.status, stage = moved.stage, case_id = moved.case_id, updated_at = now()
    FROM unnest(CAST(:person_ids AS uuid[]), CAST(:case_ids AS uuid[]), CAST(:statuses AS text[]),
                CAST(:stages AS smallint[])) AS moved(person_id, case_id, status, stage)
    WHERE progress.person_id = moved.person_id AND progress.stage < moved.stage
""")


async def follow_cases(*, session: AsyncSession, facts: Sequence[object]) -> None:
    """Move the status of each person's recognition along with their case: waitlisted, assigned, closed (case-plan's
    facts, in their order; one of an earlier stage than the status changes nothing)."""
    furthest: dict[UUID, tuple[UUID, str]] = {}
    for fact in facts:
        if isinstance(fact, CaseManagerAssigned | CaseWaitlisted | CaseClosed):
            status = _CASE_STATUS[type(fact)]
            known = furthest.get(fact.person_id)
            if known is None or STAGES[status] > STAGES[known[1]]:
                furthest[fact.person_id] = (fact.case_id, status)
    if not furthest:
        return
    people = sorted(furthest)
    await session.execute(_FOLLOW_CASES, {
        "person_ids": people, "case_ids": [furthest[person][0] for person in people],
        "statuses": [furthest[person][1] for person in people],
        "stages": [STAGES[furthest[person][1]] for person in people]})


async def recognition_status(*, session: AsyncSession, coa_registration_number: str) -> RecognitionStatusRead | None:
    """How far the recognition of a COA number got; None if intake has not taken it in or rejected it (yet)."""
    progress = await session.scalar(select(RecognitionProgress).where(
        RecognitionProgress.coa_registration_number == coa_registration_number))
    return RecognitionStatusRead.of(progress) if progress is not None else None
