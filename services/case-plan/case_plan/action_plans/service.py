"""Revising and approving a case's action plan: every revision is a new version, old versions stay readable."""

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.case_plan import ActionPlanRevised
from verbinding_common.contracts.intake import Domain
from verbinding_common.errors import Conflict, Forbidden, NotFound
from verbinding_common.outbox import add_event

from ..cases.models import Case, CaseStatus
from .models import ActionPlan, Objective, ObjectiveCreate


async def revise_plan(*, session: AsyncSession, case: Case, objectives: list[ObjectiveCreate],
                      created_by: str) -> ActionPlan:
    """Write the next version of the case's plan (version 1 when it has none); it awaits approval."""
    await _lock_case(session=session, case=case)
    if case.status == CaseStatus.closed:
        raise Conflict("this case is closed: its action plan can no longer be revised")
    latest = await session.scalar(select(func.max(ActionPlan.version)).where(ActionPlan.case_id == case.id))
    plan = ActionPlan(case_id=case.id, version=(latest or 0) + 1, created_by=created_by,
                      objectives=[Objective(position=n, **objective.model_dump())
                                  for n, objective in enumerate(objectives, start=1)])
    session.add(plan)
    await session.flush()
    await _announce(session=session, case=case, plan=plan)
    return plan


async def approve_plan(*, session: AsyncSession, case: Case, version: int, approved_by: str,
                       author_may_approve: bool = False) -> ActionPlan:
    """Record approval of the latest version by someone other than its author, on an open case (approving it
    again changes nothing)."""
    await _lock_case(session=session, case=case)
    if case.status == CaseStatus.closed:
        raise Conflict("this case is closed: its action plan can no longer be approved")
    plan = await get_plan(session=session, case=case, version=version)
    latest = await session.scalar(select(func.max(ActionPlan.version)).where(ActionPlan.case_id == case.id))
    if version != latest:
        raise Conflict(f"version {version} is not the latest version ({latest}) of this action plan")
    if plan.approved_at is None:
        if plan.created_by == approved_by and not author_may_approve:
            raise Forbidden("the author of a plan version may not approve it: a team lead of the case's team does")
        plan.approved_by = approved_by
        plan.approved_at = datetime.now(UTC)
        await session.flush()
        await _announce(session=session, case=case, plan=plan)
    return plan


async def get_plan(*, session: AsyncSession, case: Case, version: int | None = None) -> ActionPlan:
    """One version of the case's plan, the latest when `version` is None."""
    query = select(ActionPlan).where(ActionPlan.case_id == case.id)
    query = query.where(ActionPlan.version == version) if version is not None else \
        query.order_by(ActionPlan.version.desc()).limit(1)
    plan = await session.scalar(query)
    if plan is None:
        raise NotFound(f"case {case.id} has no action plan" + (f" version {version}" if version else ""))
    return plan


async def list_plans(*, session: AsyncSession, case: Case) -> list[ActionPlan]:
    """Every version of the case's plan, oldest first."""
    return list(await session.scalars(
        select(ActionPlan).where(ActionPlan.case_id == case.id).order_by(ActionPlan.version)))


async def _lock_case(*, session: AsyncSession, case: Case) -> None:
    """Versions of one case are written one at a time."""
    await session.execute(select(Case.id).where(Case.id == case.id).with_for_update())
    await session.refresh(case)


async def _announce(*, session: AsyncSession, case: Case, plan: ActionPlan) -> None:
    active = {objective.domain for objective in plan.objectives if objective.status == "active"}
    await add_event(session, ActionPlanRevised(case_id=case.id, person_id=case.person_id, version=plan.version,
                                               active_domains=[d for d in Domain if d in active],
                                               approved=plan.approved_at is not None),
                    key=str(case.id))
