"""Status recognitions from the COA (via the gateway or straight onto the topic) become persons in intake."""

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import BatchItem, ConsumerSpec, PoisonMessage
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.events import Envelope

from .service import register_recognised_person, register_recognised_persons


async def handle_recognition(session: AsyncSession, envelope: Envelope) -> None:
    if envelope.type != StatusRecognised.event_type:
        return
    await register_recognised_person(session=session, recognition=_recognition_of(envelope))


async def handle_recognitions(session: AsyncSession, items: list[BatchItem]) -> None:
    """A whole fetch at once; one recognition that breaks its contract sends the fetch down the per-event path."""
    await register_recognised_persons(session=session, recognitions=[
        (_recognition_of(item.envelope), item.traceparent)
        for item in items if item.envelope.type == StatusRecognised.event_type
    ])


def _recognition_of(envelope: Envelope) -> StatusRecognised:
    try:
        return StatusRecognised.model_validate(envelope.data)
    except ValidationError as exc:
        # Name the fields, not their values: the error travels to the DLQ headers and the logs.
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<data>'}: {e['msg']}"
                             for e in exc.errors(include_input=False, include_url=False))
        raise PoisonMessage(f"{envelope.type} {envelope.id} breaks its contract: {problems}") from None


recognitions_consumer = ConsumerSpec(topics=[StatusRecognised.topic], handler=handle_recognition,
                                     batch_handler=handle_recognitions)
