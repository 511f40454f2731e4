"""Access requests (GDPR Art. 15): intake's own records at once, every other service's by its answer to the request
event, put together as one export that names and explains every field and lists its sources, until it expires."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.intake import AccessAnswered, AccessRequested
from verbinding_common.outbox import add_event
from verbinding_common.privacy import personal_records

from .models import PERSONAL_DATA, AccessAnswer, AccessRequest

INTAKE = "intake"
# The requests and their answers hold the export itself: not part of a later export.
NOT_EXPORTED = ("access_request", "access_answer")


async def request_access(*, session: AsyncSession, person_id: UUID, requested_by: str, now: datetime,
                         export_days: int) -> AccessRequest:
    """Open an access request: intake's part now, the others' when they answer the announced request."""
    request = AccessRequest(id=uuid.uuid4(), person_id=person_id, requested_by=requested_by, requested_at=now,
                            expires_at=now + timedelta(days=export_days))
    session.add(request)
    await session.flush()
    records = await personal_records(session, PERSONAL_DATA, person_id, skip=NOT_EXPORTED)
    session.add(AccessAnswer(request_id=request.id, service=INTAKE, records=records, answered_at=now))
    await add_event(session, AccessRequested(request_id=request.id, person_id=person_id), key=str(person_id))
    return request


async def record_answers(*, session: AsyncSession, answers: Sequence[AccessAnswered]) -> None:
    """Keep each service's answer to a request still open (a second answer from the same service replaces it)."""
    open_requests = set(await session.scalars(select(AccessRequest.id).where(
        AccessRequest.id.in_({answer.request_id for answer in answers}))))
    rows = {(a.request_id, a.service): {"request_id": a.request_id, "service": a.service, "records": a.records}
            for a in answers if a.request_id in open_requests and a.service != INTAKE}
    if rows:
        statement = pg_insert(AccessAnswer).values(list(rows.values()))
        await session.execute(statement.on_conflict_do_update(
            index_elements=[AccessAnswer.request_id, AccessAnswer.service],
            set_={"records": statement.excluded.records, "answered_at": statement.excluded.answered_at}))


async def access_export(*, session: AsyncSession, request_id: UUID, requested_by: str, now: datetime,
                        expected_sources: Sequence[str]) -> dict[str, Any] | None:
    """The export of a request the caller made, while it has not expired; None otherwise."""
    request = await session.scalar(select(AccessRequest).where(
        AccessRequest.id == request_id, AccessRequest.requested_by == requested_by, AccessRequest.expires_at > now))
    if request is None:
        return None
    answers = list(await session.scalars(select(AccessAnswer).where(AccessAnswer.request_id == request_id)
                                         .order_by(AccessAnswer.answered_at, AccessAnswer.service)))
    answered = [answer.service for answer in answers]
    return {
        "request_id": str(request.id), "person_id": str(request.person_id),
        "requested_at": request.requested_at.isoformat(), "expires_at": request.expires_at.isoformat(),
        "complete": all(source in answered for source in expected_sources),
        "sources": [{"service": answer.service, "answered_at": answer.answered_at.isoformat()} for answer in answers],
        "waiting_for": [source for source in expected_sources if source not in answered],
        "records": [record for answer in answers for record in answer.records],
        "explanation": "Per source and table: the kind of record, its legal ground and retention, and every row's "
                       "fields, each with its value and the purpose it is held for.",
    }
