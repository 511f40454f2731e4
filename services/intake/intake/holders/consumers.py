"""What intake takes from case-plan: who holds which case (case-plan.cases.v1) and who each case manager is
(case-plan.case-managers.v1); the same facts move the recognitions' status (waitlisted, assigned, closed)."""

from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseManagerJoined, CaseWaitlisted

from ..recognitions.service import follow_cases
from .service import CaseFact, apply_case_facts


async def keep_case_holders(session: AsyncSession, events: list[ConsumedEvent[CaseFact]]) -> None:
    """Apply case-plan's facts of a fetch (or of one event, when the fetch failed as a whole), in their order."""
    facts = [event.data for event in events]
    await apply_case_facts(session=session, facts=facts)
    await follow_cases(session=session, facts=facts)


# In intake's consumer group, beside the recognitions consumer: a group's members may read different topics.
case_holders_consumer = ConsumerSpec(events=[CaseManagerAssigned, CaseWaitlisted, CaseClosed, CaseManagerJoined],
                                     handler=keep_case_holders)
