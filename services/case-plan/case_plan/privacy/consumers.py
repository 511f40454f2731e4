"""What case-plan takes from intake.privacy.v1: a person erased at intake is erased here too; a correction of the
languages replaces case-plan's copy; an access request is answered with everything case-plan holds about the
person."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.intake import AccessAnswered, AccessRequested, PersonCorrected, PersonErased
from verbinding_common.outbox import add_event
from verbinding_common.privacy import personal_records

from .models import PERSONAL_DATA
from .service import correct_languages, erase_persons


async def apply_privacy_events(session: AsyncSession, events: list[ConsumedEvent[Any]]) -> None:
    """Apply a fetch's erasures, corrections and access requests in order (or one event, when the fetch failed as
    a whole)."""
    for event in events:
        data = event.data
        if isinstance(data, PersonErased):
            await erase_persons(session=session, person_ids=[data.person_id], now=datetime.now(UTC))
        elif isinstance(data, PersonCorrected):
            await correct_languages(session=session, person_id=data.person_id, languages=data.languages)
        elif isinstance(data, AccessRequested):
            records = await personal_records(session, PERSONAL_DATA, data.person_id)
            await add_event(session, AccessAnswered(request_id=data.request_id, person_id=data.person_id,
                                                    service=PERSONAL_DATA.service, records=records),
                            key=str(data.person_id), caused_by=event)


privacy_events = ConsumerSpec(events=[PersonErased, PersonCorrected, AccessRequested], handler=apply_privacy_events)
