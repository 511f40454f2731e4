"""What case-plan takes from intake.persons.v1: a case for every registered person."""

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import BatchItem, ConsumerSpec, PoisonMessage
from verbinding_common.contracts.intake import PersonRegistered
from verbinding_common.events import Envelope

from .service import Newcomer, open_case, open_cases


async def handle_person_event(session: AsyncSession, envelope: Envelope) -> None:
    """Open a case on PersonRegistered; other person events are not needed here yet."""
    if envelope.type != PersonRegistered.event_type:
        return
    person = _registration_of(envelope)
    await open_case(session=session, person_id=person.person_id, recognised_on=person.recognised_on,
                    languages=person.languages, household_id=person.household_id)


async def handle_person_events(session: AsyncSession, items: list[BatchItem]) -> None:
    """Open the cases of a whole fetch at once; a registration that breaks its contract sends the fetch down the
    per-event path."""
    newcomers = []
    for item in items:
        if item.envelope.type == PersonRegistered.event_type:
            person = _registration_of(item.envelope)
            newcomers.append(Newcomer(person_id=person.person_id, recognised_on=person.recognised_on,
                                      languages=person.languages, household_id=person.household_id,
                                      traceparent=item.traceparent))
    await open_cases(session=session, newcomers=newcomers)


def _registration_of(envelope: Envelope) -> PersonRegistered:
    try:
        return PersonRegistered.model_validate(envelope.data)
    except ValidationError as exc:
        raise PoisonMessage(f"{envelope.type} breaks its contract: {exc}") from exc


person_events = ConsumerSpec(topics=[PersonRegistered.topic], handler=handle_person_event,
                             batch_handler=handle_person_events)
