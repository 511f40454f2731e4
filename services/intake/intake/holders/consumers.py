"""What intake takes from case-plan: who holds which case (case-plan.cases.v1) and who each case manager is
(case-plan.case-managers.v1)."""

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import BatchItem, ConsumerSpec, PoisonMessage
from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseManagerJoined
from verbinding_common.events import Envelope

from .service import CaseFact, apply_case_facts

_FACTS = {contract.event_type: contract for contract in (CaseManagerAssigned, CaseClosed, CaseManagerJoined)}


async def handle_case_events(session: AsyncSession, items: list[BatchItem]) -> None:
    """A whole fetch at once, in its order; events intake does not need are skipped."""
    await apply_case_facts(session=session, facts=[fact for item in items
                                                   if (fact := _fact_of(item.envelope)) is not None])


async def handle_case_event(session: AsyncSession, envelope: Envelope) -> None:
    """One event: a fetch of one."""
    await handle_case_events(session, [BatchItem(envelope=envelope, traceparent=None)])


def _fact_of(envelope: Envelope) -> CaseFact | None:
    contract = _FACTS.get(envelope.type)
    if contract is None:
        return None
    try:
        return contract.model_validate(envelope.data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<data>'}: {e['msg']}"
                             for e in exc.errors(include_input=False, include_url=False))
        raise PoisonMessage(f"{envelope.type} {envelope.id} breaks its contract: {problems}") from None


# In intake's consumer group, beside the recognitions consumer: a group's members may read different topics.
case_holders_consumer = ConsumerSpec(topics=[CaseManagerAssigned.topic, CaseManagerJoined.topic],
                                     handler=handle_case_event, batch_handler=handle_case_events)
