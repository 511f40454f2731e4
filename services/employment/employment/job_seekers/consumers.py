"""What employment takes from intake.persons.v1 and case-plan.cases.v1: job seekers, as codes, never names."""

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import BatchItem, ConsumerSpec, PoisonMessage
from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseOpened
from verbinding_common.contracts.intake import InterviewCompleted, PersonRegistered
from verbinding_common.events import Envelope

from .models import CEFR_LEVELS
from .service import isced_level, isco_code, learn

T = TypeVar("T", bound=BaseModel)


async def handle_people_events(session: AsyncSession, items: list[BatchItem]) -> None:
    """Apply a fetch of person and case events, in fetch order, to the job seekers they are about."""
    for item in items:
        envelope = item.envelope
        if envelope.type == PersonRegistered.event_type:
            person = _parsed(PersonRegistered, envelope)
            await learn(session=session, person_id=person.person_id, recognised_on=person.recognised_on,
                        gender=person.gender, languages=person.languages)
        elif envelope.type == InterviewCompleted.event_type:
            interview = _parsed(InterviewCompleted, envelope)
            await learn(session=session, person_id=interview.person_id,
                        education_level=isced_level(interview.education_level),
                        occupation=isco_code(interview.profession),
                        years_of_experience=min(interview.years_of_work_experience, 80),
                        dutch_level=interview.dutch_level if interview.dutch_level in CEFR_LEVELS else None)
        elif envelope.type == CaseOpened.event_type:
            opened = _parsed(CaseOpened, envelope)
            await learn(session=session, person_id=opened.person_id, case_id=opened.case_id)
        elif envelope.type == CaseManagerAssigned.event_type:
            assigned = _parsed(CaseManagerAssigned, envelope)
            await learn(session=session, person_id=assigned.person_id, case_id=assigned.case_id,
                        case_manager_id=assigned.case_manager_id)
        elif envelope.type == CaseClosed.event_type:
            closed = _parsed(CaseClosed, envelope)
            await learn(session=session, person_id=closed.person_id, case_id=closed.case_id,
                        case_closed_on=closed.closed_on)


async def handle_people_event(session: AsyncSession, envelope: Envelope) -> None:
    """One event on its own (after a failed fetch): the same rule, as a batch of one."""
    await handle_people_events(session, [BatchItem(envelope=envelope, traceparent=envelope.traceparent)])


def _parsed(model: type[T], envelope: Envelope) -> T:
    try:
        return model.model_validate(envelope.data)
    except ValidationError as exc:
        # Name the fields, never their values: the error travels to the DLQ headers and the logs.
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<data>'}: {e['msg']}"
                             for e in exc.errors(include_input=False, include_url=False))
        raise PoisonMessage(f"{envelope.type} {envelope.id} breaks its contract: {problems}") from None


people_events = ConsumerSpec(topics=[PersonRegistered.topic, CaseOpened.topic], handler=handle_people_event,
                             batch_handler=handle_people_events)
