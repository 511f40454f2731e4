"""The gateway learns which recognitions intake could not take in: it reads intake's dead letters of the COA topic."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.kafka import dlq_topic

from .models import REJECTED_REASON, CoaRejection

REASON_LENGTH = 500


async def record_rejections(*, session: AsyncSession, rejected: list[tuple[str, str, str]]) -> None:
    """Mark each (COA number, event id, reason) as rejected; a later dead letter of the same number replaces it."""
    rows = {number: {"coa_registration_number": number, "event_id": event_id, "reason": reason[:REASON_LENGTH]}
            for number, event_id, reason in rejected}
    if not rows:
        return
    statement = pg_insert(CoaRejection).values(list(rows.values()))
    await session.execute(statement.on_conflict_do_update(
        index_elements=[CoaRejection.coa_registration_number],
        set_={"event_id": statement.excluded.event_id, "reason": statement.excluded.reason,
              "rejected_at": statement.excluded.rejected_at}))


def _reason(event: ConsumedEvent[StatusRecognised]) -> str:
    # dlq.error is the library's safe description: which error, which fields, never their values.
    error = dict(event.record.headers or ()).get("dlq.error")
    return f"{REJECTED_REASON} ({error.decode(errors='replace')})" if error else REJECTED_REASON


async def take_in_rejections(session: AsyncSession, events: list[ConsumedEvent[StatusRecognised]]) -> None:
    """Record the recognitions of a fetch of dead letters as rejected, with the reason intake gave."""
    await record_rejections(session=session, rejected=[
        (event.data.coa_registration_number, event.id, _reason(event)) for event in events])


def rejection_consumer(coa_topic: str) -> ConsumerSpec:
    """Dead letters of the COA topic, read by a consumer group of the gateway's own."""
    return ConsumerSpec(handler=take_in_rejections, events=[StatusRecognised], topics=[dlq_topic(coa_topic)],
                        group_id="gateway-coa-rejections")
