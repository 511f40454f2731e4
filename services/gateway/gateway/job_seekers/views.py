"""The job seekers of the calling job hunter (every one for a team lead), each with the working name intake gives."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from verbinding_common.auth import Role
from verbinding_common.downstream import passed_through
from verbinding_common.idempotency import IdempotentRoute

from ..access.dependencies import CallerDep, require
from ..downstream import EmploymentDep, IntakeDep
from .service import with_working_names

router = APIRouter(route_class=IdempotentRoute, prefix="/api/v1/job-seekers", tags=["job seekers"])


class WorkingNames(BaseModel):
    available: bool = Field(description="false when intake did not answer in time, or for a team lead")
    reason: str | None = Field(description="why the names are missing")


class JobSeekersWithNames(BaseModel):
    job_seekers: list[dict[str, Any]] = Field(
        description="employment's job seekers (as `GET /api/v1/employment/job-seekers`), each with `working_name`: "
                    "the first given name intake keeps, null when intake gave none")
    working_names: WorkingNames


@router.get(
    "",
    dependencies=[Depends(require(Role.job_hunter, Role.team_lead))],
    summary="My job seekers, each with their working name",
    description="Employment's list, then intake's working names for the whole list in one call. Intake answers a "
                "name only to the job hunter employment gave the person to, and audits each read and refusal; a team "
                "lead sees no names. When intake does not answer, the list still comes back, its names unavailable.",
    response_model=JobSeekersWithNames,
)
async def list_job_seekers(request: Request, caller: CallerDep, employment: EmploymentDep,
                           intake: IntakeDep) -> Response | dict[str, Any]:
    response = await employment.request("GET", "/job-seekers", identity=caller)
    if response.status_code != 200:
        return passed_through(response, employment.name, "/api/v1/employment")
    return await with_working_names(intake=intake, identity=caller, seekers=response.json(),
                                    timeout_s=request.app.state.settings.overview_timeout_s)
