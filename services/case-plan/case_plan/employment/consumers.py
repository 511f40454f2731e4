"""What case-plan takes from employment.placements.v1: who works, shown on the case; never a reason to close it."""

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import BatchItem, ConsumerSpec, PoisonMessage
from verbinding_common.contracts.employment import PlacementEnded, PlacementStarted
from verbinding_common.events import Envelope

from .service import placement_ended, placement_started


async def handle_placement_events(session: AsyncSession, items: list[BatchItem]) -> None:
    """Apply a fetch of placement events in order (retention outcomes are not needed here)."""
    for item in items:
        envelope = item.envelope
        try:
            if envelope.type == PlacementStarted.event_type:
                started = PlacementStarted.model_validate(envelope.data)
                await placement_started(session=session, placement_id=started.placement_id,
                                        person_id=started.person_id, contract_type=started.contract_type,
                                        hours_per_week=started.hours_per_week, started_on=started.started_on)
            elif envelope.type == PlacementEnded.event_type:
                ended = PlacementEnded.model_validate(envelope.data)
                await placement_ended(session=session, placement_id=ended.placement_id, ended_on=ended.ended_on)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<data>'}: {e['msg']}"
                                 for e in exc.errors(include_input=False, include_url=False))
            raise PoisonMessage(f"{envelope.type} {envelope.id} breaks its contract: {problems}") from None


async def handle_placement_event(session: AsyncSession, envelope: Envelope) -> None:
    """One event on its own: the same rule, as a batch of one."""
    await handle_placement_events(session, [BatchItem(envelope=envelope, traceparent=envelope.traceparent)])


placement_events = ConsumerSpec(topics=[PlacementStarted.topic], handler=handle_placement_event,
                                batch_handler=handle_placement_events)
