"""The transactional outbox: an event is written in the same transaction as the change it reports."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from .db import outbox_table
from .events import Envelope, EventContract, build_envelope
from .telemetry import current_traceparent

# Namespace for pg_advisory_xact_lock(ns, hashtext(key)): transactions writing events for the same
# key are serialised until commit, so outbox ids of one key follow commit order (PITFALLS: late commits).
KEY_LOCK_NAMESPACE = 0x0B0C
NOTIFY_CHANNEL = "verbinding_outbox"


async def add_event(session: AsyncSession, event: EventContract, *, key: str, source: str,
                    subject: str | None = None, topic: str | None = None) -> Envelope:
    """Stage `event` for publication (on its contract's topic unless `topic` is given); it is published
    only if the transaction commits."""
    traceparent = current_traceparent()
    envelope = build_envelope(event, source=source, subject=subject or key, traceparent=traceparent)
    await session.execute(select(func.pg_advisory_xact_lock(KEY_LOCK_NAMESPACE, func.hashtext(key))))
    await session.execute(
        insert(outbox_table).values(
            event_id=envelope.id,
            topic=topic or event.topic,
            key=key,
            event_type=envelope.type,
            envelope=envelope.model_dump(mode="json"),
            traceparent=traceparent,
        )
    )
    await session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))
    return envelope
