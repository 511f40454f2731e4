"""What case-plan takes from intake.persons.v1: a case for every registered person."""

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumerSpec, PoisonMessage
from verbinding_common.contracts.intake import PersonRegistered
from verbinding_common.events import Envelope

from .service import open_case


async def handle_person_event(session: AsyncSession, envelope: Envelope) -> None:
    """Open a case on PersonRegistered; other person events are not needed here yet."""
    if envelope.type != PersonRegistered.event_type:
        return
    try:
        person = PersonRegistered.model_validate(envelope.data)
    except ValidationError as exc:
        raise PoisonMessage(f"{envelope.type} breaks its contract: {exc}") from exc
    await open_case(session=session, person_id=person.person_id, recognised_on=person.recognised_on,
                    languages=person.languages, household_id=person.household_id)


person_events = ConsumerSpec(topics=[PersonRegistered.topic], handler=handle_person_event)
