"""Status recognitions from the COA (via the gateway or straight onto the topic) become persons in intake."""

from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.coa import StatusRecognised

from .service import register_recognised_persons


async def take_in_recognitions(session: AsyncSession, events: list[ConsumedEvent[StatusRecognised]]) -> None:
    """Register the recognised persons of a fetch (or of one event, when the fetch failed as a whole)."""
    await register_recognised_persons(session=session, recognitions=[event.data for event in events])


recognitions_consumer = ConsumerSpec(events=[StatusRecognised], handler=take_in_recognitions)
