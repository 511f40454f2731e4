"""What intake takes from intake.access-answers.v1: the other services' parts of an access request's export."""

from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.intake import AccessAnswered

from .access import record_answers


async def collect_answers(session: AsyncSession, events: list[ConsumedEvent[AccessAnswered]]) -> None:
    """Keep the answers of a fetch (or of one event, when the fetch failed as a whole)."""
    await record_answers(session=session, answers=[event.data for event in events])


access_answers = ConsumerSpec(events=[AccessAnswered], handler=collect_answers)
