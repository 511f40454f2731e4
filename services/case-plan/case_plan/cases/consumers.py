"""What case-plan takes from intake.persons.v1: a case for every registered person."""

from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.intake import PersonRegistered

from .service import open_cases


async def open_cases_of_registered(session: AsyncSession, events: list[ConsumedEvent[PersonRegistered]]) -> None:
    """Open the cases of a fetch's registered persons (or of one, when the fetch failed as a whole)."""
    await open_cases(session=session, newcomers=[event.data for event in events])


person_events = ConsumerSpec(events=[PersonRegistered], handler=open_cases_of_registered)
