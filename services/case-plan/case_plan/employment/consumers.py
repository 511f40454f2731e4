"""What case-plan takes from employment.placements.v1: who works, shown on the case; never a reason to close it."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.employment import PlacementEnded, PlacementStarted

from .service import placement_ended, placement_started


async def note_placements(session: AsyncSession, events: list[ConsumedEvent[Any]]) -> None:
    """Apply a fetch of placement events in order (retention outcomes are not needed here)."""
    for event in events:
        data = event.data
        if isinstance(data, PlacementStarted):
            await placement_started(session=session, placement_id=data.placement_id, person_id=data.person_id,
                                    contract_type=data.contract_type, hours_per_week=data.hours_per_week,
                                    started_on=data.started_on)
        elif isinstance(data, PlacementEnded):
            await placement_ended(session=session, placement_id=data.placement_id, ended_on=data.ended_on)


placement_events = ConsumerSpec(events=[PlacementStarted, PlacementEnded], handler=note_placements)
