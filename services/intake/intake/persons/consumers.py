"""Status recognitions from the COA (via the gateway or straight onto the topic) become persons in intake, or
rejections the COA can see."""

from functools import partial
from typing import Annotated

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import BrokenEvent, ConsumedEvent, ConsumerSpec, ContractViolation
from verbinding_common.contracts.coa import CoaNumber, StatusRecognised

from .service import register_recognised_persons, reject_broken_recognitions

_COA_NUMBER = TypeAdapter(Annotated[str, CoaNumber])


async def take_in_recognitions(session: AsyncSession, events: list[ConsumedEvent[StatusRecognised]], *,
                               pepper: bytes) -> None:
    """Register the recognised persons of a fetch (or of one event, when the fetch failed as a whole)."""
    await register_recognised_persons(session=session, recognitions=[event.data for event in events], pepper=pepper)


async def reject_broken(session: AsyncSession, events: list[BrokenEvent]) -> None:
    """Recognitions that break their contract (produced straight onto the topic): rejected by their COA number; one
    whose number cannot be read is poison, for the dead-letter topic."""
    broken = []
    for event in events:
        try:
            broken.append((_COA_NUMBER.validate_python(event.envelope.data.get("coa_registration_number")),
                           event.envelope))
        except ValidationError:
            raise ContractViolation(f"{event.problems}; no readable coa_registration_number to reject it by") from None
    await reject_broken_recognitions(session=session, broken=broken)


def recognitions_consumer(pepper: bytes) -> ConsumerSpec:
    """The pepper tells erased persons' COA numbers (privacy/tombstones.py)."""
    return ConsumerSpec(events=[StatusRecognised], handler=partial(take_in_recognitions, pepper=pepper),
                        on_broken=reject_broken)
