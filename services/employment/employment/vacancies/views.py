"""HTTP routes for employers, vacancies (paged, searched, edited, closed), a job seeker's ranked matches and a
vacancy's ranked candidates."""

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from verbinding_common.auth import CurrentIdentity, Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from ..access import AuditDep
from ..job_seekers.models import CefrLevel
from ..job_seekers.service import authorise_job_seeker, job_hunter_of
from . import service
from .matching import rank_candidates, rank_vacancies
from .models import (
    District,
    EmployerCreate,
    EmployerRead,
    RankedCandidate,
    RankedVacancy,
    Sector,
    VacancyCreate,
    VacancyPage,
    VacancyRead,
    VacancyStatus,
    VacancyUpdate,
)

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
    vacancy = await service.add_vacancy(session=session, vacancy=body)
    return VacancyRead.of(vacancy, await service.employer_name(session=session, employer_id=vacancy.employer_id))


@router.get("/vacancies", dependencies=[Depends(STAFF)])
async def list_vacancies(
        session: SessionDep,
        status: VacancyStatus = "open",
        q: Annotated[str | None, Query(min_length=1, max_length=100, description="words in the title")] = None,
        isco: Annotated[str | None, Query(pattern=r"^[0-9]{1,4}$", description="ISCO-08 group: codes within")] = None,
        education_level: Annotated[int | None, Query(ge=0, le=8)] = None,
        dutch_level: CefrLevel | None = None,
        hours_min: Annotated[int | None, Query(ge=1, le=60)] = None,
        hours_max: Annotated[int | None, Query(ge=1, le=60)] = None,
        district: District | None = None,
        location: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        employer_id: UUID | None = None,
        cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the page before")] = None,
        limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = service.PAGE_SIZE) -> VacancyPage:
    vacancies, next_cursor = await service.list_vacancies(
        session=session, status=status, q=q, isco=isco, education_level=education_level, dutch_level=dutch_level,
        hours_min=hours_min, hours_max=hours_max, district=district, location=location, employer_id=employer_id,
        cursor=cursor, limit=limit)
    return VacancyPage(vacancies=vacancies, next_cursor=next_cursor)


@router.get("/vacancies/{vacancy_id}", dependencies=[Depends(STAFF)])
async def read_vacancy(vacancy_id: UUID, session: SessionDep) -> VacancyRead:
    vacancy = await service.get_vacancy(session=session, vacancy_id=vacancy_id)
    return VacancyRead.of(vacancy, await service.employer_name(session=session, employer_id=vacancy.employer_id))


@router.patch("/vacancies/{vacancy_id}", dependencies=[Depends(STAFF)])
async def update_vacancy(vacancy_id: UUID, body: VacancyUpdate, session: SessionDep) -> VacancyRead:
    vacancy = await service.update_vacancy(session=session, vacancy_id=vacancy_id, changes=body)
    return VacancyRead.of(vacancy, await service.employer_name(session=session, employer_id=vacancy.employer_id))


@router.post("/vacancies/{vacancy_id}/close", dependencies=[Depends(STAFF)])
async def close_vacancy(vacancy_id: UUID, session: SessionDep) -> VacancyRead:
    vacancy = await service.close_vacancy(session=session, vacancy_id=vacancy_id, today=date.today())
    return VacancyRead.of(vacancy, await service.employer_name(session=session, employer_id=vacancy.employer_id))


@router.get("/vacancies/{vacancy_id}/candidates", dependencies=[Depends(STAFF)])
async def read_candidates(vacancy_id: UUID, identity: CurrentIdentity, audit: AuditDep, session: SessionDep,
                          limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[RankedCandidate]:
    vacancy = await service.get_vacancy(session=session, vacancy_id=vacancy_id)
    hunter = await job_hunter_of(session=session, identity=identity)
    ranked = await rank_candidates(session=session, vacancy=vacancy, limit=limit,
                                   job_hunter_id=hunter.id if hunter else None,
                                   everyone=Role.team_lead in identity.roles)
    await audit.allowed(session, kind="person", record_ids=[c.job_seeker.person_id for c in ranked])
    return ranked


@router.get("/job-seekers/{person_id}/matches", dependencies=[Depends(STAFF)])
async def read_matches(person_id: UUID, audit: AuditDep, session: SessionDep,
                       limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[RankedVacancy]:
    seeker = await authorise_job_seeker(session=session, person_id=person_id, audit=audit)
    return await rank_vacancies(session=session, seeker=seeker, limit=limit)
