"""The gateway learns which recognitions intake could not take in: it reads intake's dead letters of the COA topic."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumerSpec
from verbinding_common.events import Envelope
from verbinding_common.kafka import dlq_topic

from .models import CoaRejection


async def record_rejections(*, session: AsyncSession, rejected: list[tuple[str, str]]) -> None:
    """Mark each (COA number, event id) as rejected; a second dead letter of the same number keeps the latest."""
    rows = [{"coa_registration_number": number, "event_id": event_id} for number, event_id in rejected
            if number and len(number) <= 20]
    if not rows:
        return
    statement = pg_insert(CoaRejection).values(rows)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[CoaRejection.coa_registration_number],
        set_={"event_id": statement.excluded.event_id, "rejected_at": statement.excluded.rejected_at}))


async def _on_dead_letter(session: AsyncSession, envelope: Envelope) -> None:
    number = envelope.data.get("coa_registration_number") or envelope.subject
    await record_rejections(session=session, rejected=[(str(number or ""), envelope.id)])


def rejection_consumer(coa_topic: str) -> ConsumerSpec:
    """Dead letters of the COA topic, read by a consumer group of the gateway's own."""
    return ConsumerSpec(topics=[dlq_topic(coa_topic)], handler=_on_dead_letter, group_id="gateway-coa-rejections")
