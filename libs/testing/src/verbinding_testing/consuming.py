"""Hand events to a service's consumer handler the way the consumer does, without a broker in between."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka.structs import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, Handler
from verbinding_common.events import EventContract, build_envelope
from verbinding_common.outbox import Cause, applying


@dataclass(frozen=True)
class Applied:
    """One event handed over, and the cause (event id, process-span traceparent) it stood for."""

    event: ConsumedEvent[Any]
    cause: Cause


def consumed(data: EventContract, *, source: str = "test") -> ConsumedEvent[Any]:
    """`data` as a consumer hands it to a handler: in an envelope of its own, as if read at offset 0."""
    envelope = build_envelope(data, source=source)
    record = ConsumerRecord(topic=data.topic, partition=0, offset=0, timestamp=0, timestamp_type=0, key=None,
                            value=envelope.to_bytes(), checksum=None, serialized_key_size=0,
                            serialized_value_size=0, headers=[])
    return ConsumedEvent(envelope=envelope, data=data, record=record)


async def apply_as_consumer(handler: Handler, session: AsyncSession, *data: EventContract) -> list[Applied]:
    """Call `handler` with these events as one fetch; each is the cause of what the handler stages for it,
    with a made-up process-span traceparent of its own."""
    applied = [Applied(event, Cause(event.id, f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"))
               for event in (consumed(item) for item in data)]
    with applying([((a.event, a.event.envelope, a.event.data), a.cause) for a in applied]):
        await handler(session, [a.event for a in applied])
    return applied
