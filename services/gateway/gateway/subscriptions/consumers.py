"""What the gateway takes from `shelter.capacity.v1`: every capacity change, appended to its capacity log."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import BatchItem, ConsumerSpec, PoisonMessage
from verbinding_common.contracts.shelter import ShelterCapacityChanged
from verbinding_common.events import Envelope

from .feed import APPENDED
from .models import CapacityChange

# pg_advisory_xact_lock(namespace, 0) before drawing positions: consumers of several gateway replicas then commit
# positions in order, so a reader paging by position never skips a row that commits late.
LOG_LOCK = (0x0CA9, 0)


async def record_changes(session: AsyncSession, items: list[BatchItem]) -> None:
    """Append a fetch's capacity events to the log, in fetch order (a shelter's events come in its order)."""
    rows = []
    for item in items:
        if item.envelope.type != ShelterCapacityChanged.event_type:
            continue
        change = _change_of(item.envelope)
        rows.append({"event_id": item.envelope.id, "shelter_id": change.shelter_id, "sequence": change.sequence,
                     "programme": change.programme.value, "operator": change.operator,
                     "data": change.model_dump(mode="json"), "traceparent": item.traceparent})
    if not rows:
        return
    await session.execute(select(func.pg_advisory_xact_lock(*LOG_LOCK)))
    # A sequence already logged (a republished event under a new id) changes nothing.
    await session.execute(pg_insert(CapacityChange).on_conflict_do_nothing(), rows)
    session.sync_session.info[APPENDED] = True


async def record_change(session: AsyncSession, envelope: Envelope) -> None:
    """One event on its own: a batch of one."""
    await record_changes(session, [BatchItem(envelope=envelope, traceparent=None)])


def _change_of(envelope: Envelope) -> ShelterCapacityChanged:
    try:
        return ShelterCapacityChanged.model_validate(envelope.data)
    except ValidationError as exc:
        raise PoisonMessage(f"{envelope.type} breaks its contract ({exc.error_count()} errors)") from None


capacity_changes = ConsumerSpec(topics=[ShelterCapacityChanged.topic], handler=record_change,
                                batch_handler=record_changes)
