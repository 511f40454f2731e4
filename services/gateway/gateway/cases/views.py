"""Caseloads, cases, action plans, the waitlist and case managers: forwarded to case-plan as the caller."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from verbinding_common.auth import Role
from verbinding_common.idempotency import IdempotentRoute
from verbinding_common.input_guard import Int32

from ..access.dependencies import CallerDep, require
from ..downstream import CasePlanDep, segment
from .models import ActionPlanBody, CaseCloseBody, CaseManagerCreateBody, CaseManagerUpdateBody

router = APIRouter(route_class=IdempotentRoute, prefix="/api/v1", tags=["cases"])


@router.get("/caseload", dependencies=[Depends(require(Role.case_manager))],
            summary="The calling case manager's own caseload")
async def get_caseload(request: Request, caller: CallerDep, case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "GET", "/caseload")


@router.get("/cases/{case_id}", dependencies=[Depends(require(Role.case_manager, Role.team_lead))],
            summary="One case")
async def get_case(case_id: UUID, request: Request, caller: CallerDep, case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "GET", f"/cases/{segment(case_id)}")


@router.post("/cases/{case_id}/close", dependencies=[Depends(require(Role.case_manager, Role.team_lead))],
             summary="Close a case, with a reason")
async def close_case(case_id: UUID, body: CaseCloseBody, request: Request, caller: CallerDep,
                     case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "POST", f"/cases/{segment(case_id)}/close", body)


@router.get("/cases/{case_id}/action-plan", dependencies=[Depends(require(Role.case_manager, Role.team_lead))],
            summary="The case's current action plan")
async def get_action_plan(case_id: UUID, request: Request, caller: CallerDep, case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "GET", f"/cases/{segment(case_id)}/action-plan")


@router.post("/cases/{case_id}/action-plan", dependencies=[Depends(require(Role.case_manager))], status_code=201,
             summary="Revise the action plan: a new version with these objectives (the case's case manager)")
async def revise_action_plan(case_id: UUID, body: ActionPlanBody, request: Request, caller: CallerDep,
                             case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "POST", f"/cases/{segment(case_id)}/action-plan", body)


@router.get("/cases/{case_id}/action-plan/versions",
            dependencies=[Depends(require(Role.case_manager, Role.team_lead))],
            summary="Every version of the case's action plan")
async def list_action_plan_versions(case_id: UUID, request: Request, caller: CallerDep,
                                    case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "GET", f"/cases/{segment(case_id)}/action-plan/versions")


@router.get("/cases/{case_id}/action-plan/versions/{version}",
            dependencies=[Depends(require(Role.case_manager, Role.team_lead))],
            summary="One version of the case's action plan")
async def get_action_plan_version(case_id: UUID, version: Int32, request: Request, caller: CallerDep,
                                  case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "GET",
                          f"/cases/{segment(case_id)}/action-plan/versions/{version}")


@router.post("/cases/{case_id}/action-plan/versions/{version}/approve",
             dependencies=[Depends(require(Role.case_manager, Role.team_lead))],
             summary="Approve the latest version of the action plan (the case's case manager, or a team lead)")
async def approve_action_plan_version(case_id: UUID, version: Int32, request: Request, caller: CallerDep,
                                      case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "POST",
                          f"/cases/{segment(case_id)}/action-plan/versions/{version}/approve")


@router.get("/waitlist", dependencies=[Depends(require(Role.team_lead))],
            summary="Cases waiting for a case manager, in recognition order")
async def get_waitlist(request: Request, caller: CallerDep, case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "GET", "/waitlist")


@router.get("/case-managers", dependencies=[Depends(require(Role.team_lead))], tags=["case managers"],
            summary="Case managers with their capacity and load")
async def list_case_managers(request: Request, caller: CallerDep, case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "GET", "/case-managers")


@router.post("/case-managers", dependencies=[Depends(require(Role.team_lead))], tags=["case managers"], status_code=201,
             summary="Add a case manager: {subject, name, languages, capacity}")
async def add_case_manager(body: CaseManagerCreateBody, request: Request, caller: CallerDep,
                           case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "POST", "/case-managers", body)


@router.patch("/case-managers/{case_manager_id}", dependencies=[Depends(require(Role.team_lead))],
              tags=["case managers"], summary="Change a case manager's capacity: {capacity}")
async def change_case_manager(case_manager_id: UUID, body: CaseManagerUpdateBody, request: Request, caller: CallerDep,
                              case_plan: CasePlanDep) -> Response:
    return await case_plan.forward(request, caller, "PATCH", f"/case-managers/{segment(case_manager_id)}", body)
