"""HTTP routes for employers, vacancies and a job seeker's ranked matches."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from ..access import AuditDep
from ..job_seekers.service import authorise_job_seeker
from . import service
from .matching import rank_vacancies
from .models import EmployerCreate, EmployerRead, RankedVacancy, Sector, VacancyCreate, VacancyRead

router = APIRouter(route_class=PublicRoute, tags=["vacancies"])
STAFF = allow(Role.job_hunter, Role.team_lead)


@router.post("/employers", status_code=status.HTTP_201_CREATED, dependencies=[Depends(STAFF)])
async def add_employer(body: EmployerCreate, session: SessionDep) -> EmployerRead:
    employer = await service.add_employer(session=session, employer=body)
    return EmployerRead(employer_id=employer.id, name=employer.name, sector=Sector(employer.sector))


@router.get("/employers", dependencies=[Depends(STAFF)])
async def list_employers(session: SessionDep) -> list[EmployerRead]:
    return [EmployerRead(employer_id=e.id, name=e.name, sector=Sector(e.sector))
            for e in await service.employers(session=session)]


@router.post("/vacancies", status_code=status.HTTP_201_CREATED, dependencies=[Depends(STAFF)])
async def add_vacancy(body: VacancyCreate, session: SessionDep) -> VacancyRead:
    return VacancyRead.of(await service.add_vacancy(session=session, vacancy=body))


@router.get("/vacancies", dependencies=[Depends(STAFF)])
async def list_vacancies(session: SessionDep, employer_id: UUID | None = None) -> list[VacancyRead]:
    return [VacancyRead.of(v) for v in await service.open_vacancies(session=session, employer_id=employer_id)]


@router.get("/job-seekers/{person_id}/matches", dependencies=[Depends(STAFF)])
async def read_matches(person_id: UUID, audit: AuditDep, session: SessionDep,
                       limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[RankedVacancy]:
    seeker = await authorise_job_seeker(session=session, person_id=person_id, audit=audit)
    return await rank_vacancies(session=session, seeker=seeker, limit=limit)
