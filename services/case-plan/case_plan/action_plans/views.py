"""HTTP routes for a case's action plan and its versions."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request, status

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from ..access import AuditDep, authorise_case
from . import service
from .models import ActionPlanCreate, ActionPlanRead

router = APIRouter(route_class=PublicRoute, tags=["action plans"])
manager_or_lead = [Depends(allow(Role.case_manager, Role.team_lead))]
Version = Annotated[int, Path(ge=1, le=2_147_483_647)]
PLAN = "action_plan"  # audited under the case's id


@router.get("/cases/{case_id}/action-plan", dependencies=manager_or_lead)
async def read_latest_plan(case_id: UUID, audit: AuditDep, session: SessionDep) -> ActionPlanRead:
    case = await authorise_case(session=session, audit=audit, case_id=case_id, kind=PLAN)
    return ActionPlanRead.of(await service.get_plan(session=session, case=case))


@router.get("/cases/{case_id}/action-plan/versions", dependencies=manager_or_lead)
async def list_plan_versions(case_id: UUID, audit: AuditDep, session: SessionDep) -> list[ActionPlanRead]:
    case = await authorise_case(session=session, audit=audit, case_id=case_id, kind=PLAN)
    return [ActionPlanRead.of(plan) for plan in await service.list_plans(session=session, case=case)]


@router.get("/cases/{case_id}/action-plan/versions/{version}", dependencies=manager_or_lead)
async def read_plan_version(case_id: UUID, version: Version, audit: AuditDep, session: SessionDep) -> ActionPlanRead:
    case = await authorise_case(session=session, audit=audit, case_id=case_id, kind=PLAN)
    return ActionPlanRead.of(await service.get_plan(session=session, case=case, version=version))


@router.post("/cases/{case_id}/action-plan", status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(allow(Role.case_manager))])
async def revise_plan(case_id: UUID, body: ActionPlanCreate, audit: AuditDep, session: SessionDep) -> ActionPlanRead:
    case = await authorise_case(session=session, audit=audit, case_id=case_id, team_lead=False, kind=PLAN)
    plan = await service.revise_plan(session=session, case=case, objectives=body.objectives,
                                     created_by=audit.caller.subject)
    return ActionPlanRead.of(plan)


@router.post("/cases/{case_id}/action-plan/versions/{version}/approve", dependencies=manager_or_lead)
async def approve_plan(case_id: UUID, version: Version, request: Request, audit: AuditDep,
                       session: SessionDep) -> ActionPlanRead:
    case = await authorise_case(session=session, audit=audit, case_id=case_id, kind=PLAN)
    plan = await service.approve_plan(session=session, case=case, version=version, approved_by=audit.caller.subject,
                                      author_may_approve=request.app.state.settings.allow_self_approval)
    return ActionPlanRead.of(plan)
