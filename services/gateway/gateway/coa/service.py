"""Taking COA recognitions in: validate all, keep a receipt and stage the event in one transaction, report status,
and purge receipts once the COA may no longer look a recognition up.

A database that is down answers 503 + Retry-After (the library's outage answer), and then nothing was taken in."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from verbinding_common.auth import Identity
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.db import outbox_table
from verbinding_common.downstream import Downstream, ServiceUnavailable, segment
from verbinding_common.outbox import add_events

from .models import CoaReceipt, RecognitionBatch, RecognitionStatus

# Event ids are uuid5(namespace, "<COA number>|<recognised_on>"): a resend makes the same event, which
# intake's idempotent consumer then skips.
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:verbinding:coa.status-recognised.v1")


@dataclass(frozen=True)
class AcceptedRecognition:
    coa_registration_number: str
    event_id: str


def event_id_for(recognition: StatusRecognised) -> str:
    """The deterministic event id of a recognition: the same COA number and date give the same id."""
    name = f"{recognition.coa_registration_number}|{recognition.recognised_on.isoformat()}"
    return str(uuid.uuid5(EVENT_NAMESPACE, name))


def parse_recognitions(raw: bytes) -> list[StatusRecognised]:
    """One recognition or {"recognitions": [...]}, all valid, else a 422 naming every bad field (and its index)."""
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ["body"], "msg": f"JSON: {exc}"}]) from None
    try:
        if isinstance(payload, dict) and "recognitions" in payload:
            return RecognitionBatch.model_validate(payload).recognitions
        return [StatusRecognised.model_validate(payload)]
    except ValidationError as exc:
        # Only where and what: the input (names, dates of birth) is not echoed back.
        errors = [{"type": error["type"], "loc": ["body", *error["loc"]], "msg": error["msg"]}
                  for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


async def accept_recognitions(*, session: AsyncSession, recognitions: list[StatusRecognised],
                              topic: str) -> list[AcceptedRecognition]:
    """Record a receipt per COA number and stage each recognition not yet staged, in the caller's transaction."""
    accepted = [AcceptedRecognition(item.coa_registration_number, event_id_for(item)) for item in recognitions]
    # The receipts' row locks (taken in number order) make a concurrent push of the same numbers wait for this
    # commit, so it then finds these events staged and stages none twice.
    await _record_receipts(session=session, accepted=accepted)
    ids = sorted({item.event_id for item in accepted})
    staged = set((await session.scalars(
        select(outbox_table.c.event_id).where(outbox_table.c.event_id.in_(ids)))).all())
    new: dict[str, StatusRecognised] = {}
    for item, recognition in zip(accepted, recognitions, strict=True):
        if item.event_id not in staged:
            new.setdefault(item.event_id, recognition)
    await add_events(session, [(recognition, recognition.coa_registration_number) for recognition in new.values()],
                     topic=topic, event_ids=list(new))
    return accepted


# Constant text (numbers in order, so row locks are taken in number order): compiled and prepared once, where a
# multi-row VALUES was compiled anew for every push.
_RECORD_RECEIPTS = text("""
    INSERT INTO coa_receipt AS receipt (coa_registration_number, event_id, deliveries)
    SELECT * FROM unnest(CAST(:numbers AS text[]), CAST(:event_ids AS text[]), CAST(:deliveries AS integer[]))
    ON CONFLICT (coa_registration_number) DO UPDATE
    SET event_id = excluded.event_id, last_received_at = excluded.last_received_at,
        deliveries = receipt.deliveries + excluded.deliveries
""")


async def _record_receipts(*, session: AsyncSession, accepted: list[AcceptedRecognition]) -> None:
    """Count one more delivery per COA number (first and last time, latest event id)."""
    deliveries = Counter(item.coa_registration_number for item in accepted)
    latest = {item.coa_registration_number: item.event_id for item in accepted}
    numbers = sorted(deliveries)
    await session.execute(_RECORD_RECEIPTS, {"numbers": numbers, "event_ids": [latest[n] for n in numbers],
                                             "deliveries": [deliveries[n] for n in numbers]})


async def recognition_status(*, sessionmaker: async_sessionmaker[AsyncSession], intake: Downstream,
                             identity: Identity, coa_registration_number: str) -> RecognitionStatus | None:
    """How far a recognition got: intake's status projection (rejected, registered … closed) once intake knows the
    number, else "received" from the gateway's own receipt; None if neither knows it."""
    async with sessionmaker() as session:
        receipt = await session.get(CoaReceipt, coa_registration_number)
    found: dict[str, Any] = {"coa_registration_number": coa_registration_number, "status": "received",
                             "received_at": receipt.first_received_at if receipt else None, "unavailable": []}
    try:
        answer = await intake.request("GET", f"/recognitions/{segment(coa_registration_number)}/status",
                                      identity=identity)
        if answer.status_code not in (200, 404):
            raise ServiceUnavailable(intake.name, f"answered {answer.status_code}")
    except ServiceUnavailable as exc:
        if receipt is None:
            raise
        found["unavailable"].append(exc.service)
        return RecognitionStatus.model_validate(found)
    if answer.status_code == 404:
        return RecognitionStatus.model_validate(found) if receipt else None
    progress = answer.json()
    found.update(status=progress["status"], reason=progress.get("reason"), person_id=progress.get("person_id"),
                 received_at=found["received_at"] or progress.get("taken_at"),
                 case={"case_id": progress["case_id"]} if progress.get("case_id") else None)
    return RecognitionStatus.model_validate(found)


async def purge_receipts(*, session: AsyncSession, retention: timedelta) -> int:
    """Delete the receipts older than `retention`; how many went."""
    result = await session.execute(delete(CoaReceipt).where(CoaReceipt.last_received_at < func.now() - retention))
    return result.rowcount or 0  # type: ignore[attr-defined]
