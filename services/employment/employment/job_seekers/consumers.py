"""What employment takes from intake and case-plan: job seekers (as codes, never names) and who holds their case."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseManagerJoined, CaseOpened
from verbinding_common.contracts.intake import InterviewCompleted, PersonRegistered

from .service import case_manager_joined, learn_many


async def learn_job_seekers(session: AsyncSession, events: list[ConsumedEvent[Any]]) -> None:
    """Apply a fetch of person and case events, in fetch order, to the job seekers they are about."""
    facts: list[tuple[UUID, dict[str, Any]]] = []
    for event in events:
        data = event.data
        if isinstance(data, PersonRegistered):
            facts.append((data.person_id, {"recognised_on": data.recognised_on, "gender": data.gender,
                                           "languages": data.languages}))
        elif isinstance(data, InterviewCompleted):
            facts.append((data.person_id, {"education_level": data.education_isced_level,
                                           "occupation": data.occupation_isco_group,
                                           "years_of_experience": data.years_of_work_experience,
                                           "dutch_level": data.dutch_level}))
        elif isinstance(data, CaseOpened):
            facts.append((data.person_id, {"case_id": data.case_id}))
        elif isinstance(data, CaseManagerAssigned):
            facts.append((data.person_id, {"case_id": data.case_id, "case_manager_id": data.case_manager_id}))
        elif isinstance(data, CaseClosed):
            facts.append((data.person_id, {"case_id": data.case_id, "case_closed_on": data.closed_on}))
        elif isinstance(data, CaseManagerJoined):
            await case_manager_joined(session=session, case_manager_id=data.case_manager_id, subject=data.subject,
                                      team=data.team)
    await learn_many(session=session, facts=facts)


people_events = ConsumerSpec(
    events=[PersonRegistered, InterviewCompleted, CaseOpened, CaseManagerAssigned, CaseClosed, CaseManagerJoined],
    handler=learn_job_seekers)
