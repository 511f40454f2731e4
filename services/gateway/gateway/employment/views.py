"""Job seekers, job hunters, employers, vacancies, matches, placements, retention checks and the participation
report: forwarded to employment as the caller (employment checks that a job hunter holds the job seeker)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from verbinding_common.auth import Role
from verbinding_common.idempotency import IdempotentRoute

from ..access.dependencies import CallerDep, require
from ..downstream import EmploymentDep, segment
from .models import (
    EmployerCreateBody,
    JobHunterAssignBody,
    JobHunterCreateBody,
    JobSeekerUpdateBody,
    PlacementCreateBody,
    PlacementEndBody,
    RetentionOutcomeBody,
    VacancyCreateBody,
)

router = APIRouter(route_class=IdempotentRoute, prefix="/api/v1", tags=["employment"])

JH, TL = Role.job_hunter, Role.team_lead



@router.get("/job-seekers", dependencies=[Depends(require(JH, TL))],
            summary="A job hunter's own job seekers (a team lead: everyone's)")
async def list_job_seekers(request: Request, caller: CallerDep, employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "GET", "/job-seekers")


@router.get("/job-seekers/{person_id}", dependencies=[Depends(require(JH, TL))], summary="One job seeker")
async def get_job_seeker(person_id: UUID, request: Request, caller: CallerDep, employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "GET", f"/job-seekers/{segment(person_id)}")


@router.patch("/job-seekers/{person_id}", dependencies=[Depends(require(JH))],
              summary="Record the hours a week the job seeker wants to work: {hours_wanted}")
async def update_job_seeker(person_id: UUID, body: JobSeekerUpdateBody, request: Request, caller: CallerDep,
                            employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "PATCH", f"/job-seekers/{segment(person_id)}", body)


@router.put("/job-seekers/{person_id}/job-hunter", dependencies=[Depends(require(TL))],
            summary="Give the job seeker to a job hunter: {job_hunter_id}, or {} for the one with the fewest")
async def assign_job_hunter(person_id: UUID, body: JobHunterAssignBody, request: Request, caller: CallerDep,
                            employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "PUT", f"/job-seekers/{segment(person_id)}/job-hunter", body)


@router.get("/job-seekers/{person_id}/matches", dependencies=[Depends(require(JH, TL))],
            summary="Open vacancies ranked by fit for the job seeker, with the score per component")
async def get_matches(person_id: UUID, request: Request, caller: CallerDep, employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "GET", f"/job-seekers/{segment(person_id)}/matches")


@router.get("/job-seekers/{person_id}/placements", dependencies=[Depends(require(JH, TL))],
            summary="The job seeker's placements with their retention checks")
async def list_placements(person_id: UUID, request: Request, caller: CallerDep,
                          employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "GET", f"/job-seekers/{segment(person_id)}/placements")


@router.post("/job-seekers/{person_id}/placements", status_code=201, dependencies=[Depends(require(JH))],
             summary="Record that the job seeker started work; retention checks at 6, 12 and 24 months follow")
async def start_placement(person_id: UUID, body: PlacementCreateBody, request: Request, caller: CallerDep,
                          employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "POST", f"/job-seekers/{segment(person_id)}/placements", body)


@router.post("/placements/{placement_id}/end", dependencies=[Depends(require(JH))],
             summary="Record the end of a placement: {ended_on, reason}")
async def end_placement(placement_id: UUID, body: PlacementEndBody, request: Request, caller: CallerDep,
                        employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "POST", f"/placements/{segment(placement_id)}/end", body)


@router.get("/retention-checks/due", dependencies=[Depends(require(JH, TL))],
            summary="Open retention checks due (optionally ?as_of=YYYY-MM-DD), overdue ones marked")
async def list_due_checks(request: Request, caller: CallerDep, employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "GET", "/retention-checks/due")


@router.post("/retention-checks/{retention_check_id}/outcome", dependencies=[Depends(require(JH))],
             summary="Record a retention check's outcome: same_employer, other_work, not_working or unknown")
async def record_outcome(retention_check_id: UUID, body: RetentionOutcomeBody, request: Request, caller: CallerDep,
                         employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "POST",
                          f"/retention-checks/{segment(retention_check_id)}/outcome", body)


@router.get("/job-hunters", dependencies=[Depends(require(TL))], summary="Job hunters with their number of job seekers")
async def list_job_hunters(request: Request, caller: CallerDep, employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "GET", "/job-hunters")


@router.post("/job-hunters", status_code=201, dependencies=[Depends(require(TL))],
             summary="Add a job hunter: {subject, name}")
async def add_job_hunter(body: JobHunterCreateBody, request: Request, caller: CallerDep,
                         employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "POST", "/job-hunters", body)


@router.get("/employers", dependencies=[Depends(require(JH, TL))], summary="Employers")
async def list_employers(request: Request, caller: CallerDep, employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "GET", "/employers")


@router.post("/employers", status_code=201, dependencies=[Depends(require(JH, TL))],
             summary="Add an employer: {name, sector}")
async def add_employer(body: EmployerCreateBody, request: Request, caller: CallerDep,
                       employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "POST", "/employers", body)


@router.get("/vacancies", dependencies=[Depends(require(JH, TL))], summary="Open vacancies")
async def list_vacancies(request: Request, caller: CallerDep, employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "GET", "/vacancies")


@router.post("/vacancies", status_code=201, dependencies=[Depends(require(JH, TL))],
             summary="Add an employer's vacancy")
async def add_vacancy(body: VacancyCreateBody, request: Request, caller: CallerDep,
                      employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "POST", "/vacancies", body)


@router.get("/reports/participation", dependencies=[Depends(require(TL, Role.ops))],
            summary="Participation and sustainable work per cohort, gender and sector (?as_of=YYYY-MM-DD), "
                    "beside the city's aim and the 2020 figures; cells under 5 suppressed")
async def get_participation(request: Request, caller: CallerDep, employment: EmploymentDep) -> Response:
    return await employment.forward(request, caller, "GET", "/reports/participation")
