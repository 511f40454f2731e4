"""What employment takes from intake.privacy.v1: a person erased at intake is erased here too; a correction of the
languages replaces employment's copy."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.intake import PersonCorrected, PersonErased

from .service import correct_languages, erase_persons


async def apply_privacy_events(session: AsyncSession, events: list[ConsumedEvent[Any]]) -> None:
    """Apply a fetch's erasures and corrections in order (or one event, when the fetch failed as a whole)."""
    for event in events:
        data = event.data
        if isinstance(data, PersonErased):
            await erase_persons(session=session, person_ids=[data.person_id])
        elif isinstance(data, PersonCorrected):
            await correct_languages(session=session, person_id=data.person_id, languages=data.languages)


privacy_events = ConsumerSpec(events=[PersonErased, PersonCorrected], handler=apply_privacy_events)
