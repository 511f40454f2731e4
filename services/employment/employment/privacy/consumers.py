"""What employment takes from intake.privacy.v1: a person erased at intake is erased here too."""

from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.intake import PersonErased

from .service import erase_persons


async def erase_erased_persons(session: AsyncSession, events: list[ConsumedEvent[PersonErased]]) -> None:
    """Erase the persons of a fetch (or of one event, when the fetch failed as a whole)."""
    await erase_persons(session=session, person_ids=[event.data.person_id for event in events])


erasure_events = ConsumerSpec(events=[PersonErased], handler=erase_erased_persons)
