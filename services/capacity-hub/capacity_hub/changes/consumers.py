"""What the hub takes from `shelter.capacity.v1`: every capacity change, appended to its capacity log."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.shelter import ShelterCapacityChanged

from .feed import CAPACITY_LOGGED
from .models import CapacityChange

# pg_advisory_xact_lock(namespace, 0) before drawing positions: consumers of several hub replicas then commit
# positions in order, so a reader paging by position never skips a row that commits late.
LOG_LOCK = (0x0CA9, 0)


async def record_changes(session: AsyncSession, events: list[ConsumedEvent[ShelterCapacityChanged]]) -> None:
    """Append a fetch's capacity changes to the log, in fetch order (a shelter's changes come in its order)."""
    rows = [{"event_id": event.id, "shelter_id": event.data.shelter_id, "sequence": event.data.sequence,
             "programme": event.data.programme.value, "operator": event.data.operator,
             "data": event.data.model_dump(mode="json"), "traceparent": _traceparent(event)} for event in events]
    if not rows:
        return
    await session.execute(select(func.pg_advisory_xact_lock(*LOG_LOCK)))
    # A sequence already logged (a republished event under a new id) changes nothing.
    await session.execute(pg_insert(CapacityChange).on_conflict_do_nothing(), rows)
    CAPACITY_LOGGED.mark(session)


def _traceparent(event: ConsumedEvent[ShelterCapacityChanged]) -> str | None:
    """The record's trace context (its publish span): deliveries and stream writes continue that trace."""
    for key, value in event.record.headers or ():
        if key == "traceparent" and value:
            return value.decode("latin-1")[:64]
    return event.envelope.traceparent


capacity_changes = ConsumerSpec(events=[ShelterCapacityChanged], handler=record_changes)
