"""The person overview: intake, case-plan and employment composed into one answer, each section on its own."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from verbinding_common.auth import Role
from verbinding_common.errors import NotFound
from verbinding_common.idempotency import IdempotentRoute

from ..access.dependencies import CallerDep, require
from ..downstream import CasePlanDep, EmploymentDep, IntakeDep
from .service import person_overview

router = APIRouter(route_class=IdempotentRoute, prefix="/api/v1/persons", tags=["persons"])

_SECTION = ("the service's answer, null when there is none, or {\"unavailable\": true, \"reason\": …} when the "
            "service did not answer in time")


class PersonOverview(BaseModel):
    person_id: str
    person: dict[str, Any] = Field(description="intake's person (or unavailable)")
    case: dict[str, Any] | None = Field(description=f"case-plan's case: {_SECTION}")
    action_plan: dict[str, Any] | None = Field(description=f"the case's latest action plan: {_SECTION}")
    employment: dict[str, Any] | None = Field(
        default=None, description=f"employment's placements and next retention check: {_SECTION}")


@router.get(
    "/{person_id}/overview",
    dependencies=[Depends(require(Role.case_manager, Role.team_lead))],
    summary="Everything about one person: intake's record, the case, its latest action plan, and work",
    description="Intake, case-plan and employment are asked in parallel, each with a timeout; when one does not "
                "answer, its sections say so and the rest still comes back. 404 only when intake does not know the "
                "person.",
    response_model=PersonOverview,
)
async def get_person_overview(person_id: UUID, request: Request, caller: CallerDep, intake: IntakeDep,
                              case_plan: CasePlanDep, employment: EmploymentDep) -> PersonOverview:
    sections = await person_overview(intake=intake, case_plan=case_plan, employment=employment, identity=caller,
                                     person_id=str(person_id),
                                     timeout_s=request.app.state.settings.overview_timeout_s)
    if sections is None:
        raise NotFound("intake does not know this person")
    return PersonOverview(person_id=str(person_id), **sections)
