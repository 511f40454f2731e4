"""What intake takes from case-plan: who holds which case (case-plan.cases.v1) and who each case manager is
(case-plan.case-managers.v1); the same facts move the recognitions' status (waitlisted, assigned, closed). From
employment: which job hunter serves each person (employment.job-hunters.v1)."""

from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseManagerJoined, CaseWaitlisted
from verbinding_common.contracts.employment import JobHunterAssigned

from ..recognitions.service import follow_cases
from .service import CaseFact, apply_case_facts, apply_job_hunters


async def keep_case_holders(session: AsyncSession, events: list[ConsumedEvent[CaseFact]]) -> None:
    """Apply case-plan's facts of a fetch (or of one event, when the fetch failed as a whole), in their order."""
    facts = [event.data for event in events]
    await apply_case_facts(session=session, facts=facts)
    await follow_cases(session=session, facts=facts)


# In intake's consumer group, beside the recognitions consumer: a group's members may read different topics.
case_holders_consumer = ConsumerSpec(events=[CaseManagerAssigned, CaseWaitlisted, CaseClosed, CaseManagerJoined],
                                     handler=keep_case_holders)


async def keep_job_hunters(session: AsyncSession, events: list[ConsumedEvent[JobHunterAssigned]]) -> None:
    """Who serves whom, from a fetch of employment's assignments (or of one, when the fetch failed as a whole)."""
    await apply_job_hunters(session=session, assignments=[event.data for event in events])


job_hunters_consumer = ConsumerSpec(events=[JobHunterAssigned], handler=keep_job_hunters)
