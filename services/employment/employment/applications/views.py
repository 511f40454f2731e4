"""HTTP routes for applications: propose a vacancy, step an application along, the pipelines."""

from datetime import date
from uuid import UUID

from fastapi import APIRouter, Depends, status

from verbinding_common.auth import CurrentIdentity, Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from ..access import AuditDep
from ..job_seekers.service import authorise_job_seeker, authorise_record, job_hunter_of
from ..vacancies.service import get_vacancy
from . import service
from .models import ApplicationCreate, ApplicationRead, ApplicationStep

router = APIRouter(route_class=PublicRoute, tags=["applications"])


@router.post("/job-seekers/{person_id}/applications", status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(allow(Role.job_hunter))])
async def propose_vacancy(person_id: UUID, body: ApplicationCreate, identity: CurrentIdentity, audit: AuditDep,
                          session: SessionDep) -> ApplicationRead:
    seeker = await authorise_job_seeker(session=session, person_id=person_id, audit=audit)
    return ApplicationRead.of(await service.propose(session=session, seeker=seeker, vacancy_id=body.vacancy_id,
                                                    recorded_by=identity.subject, today=date.today()))


@router.get("/job-seekers/{person_id}/applications", dependencies=[Depends(allow(Role.job_hunter, Role.team_lead))])
async def list_applications(person_id: UUID, audit: AuditDep, session: SessionDep) -> list[ApplicationRead]:
    await authorise_job_seeker(session=session, person_id=person_id, audit=audit)
    return [ApplicationRead.of(a) for a in await service.applications_of(session=session, person_id=person_id)]


@router.post("/applications/{application_id}/steps", dependencies=[Depends(allow(Role.job_hunter))])
async def step_application(application_id: UUID, body: ApplicationStep, identity: CurrentIdentity, audit: AuditDep,
                           session: SessionDep) -> ApplicationRead:
    application = await service.find_application(session=session, application_id=application_id)
    await authorise_record(session=session, audit=audit, kind="application", record_id=application_id,
                           person_id=application.person_id if application else None)
    assert application is not None
    return ApplicationRead.of(await service.step(session=session, application=application, stage=body.stage,
                                                 reason=body.reason, recorded_by=identity.subject,
                                                 today=date.today()))


@router.get("/vacancies/{vacancy_id}/applications", dependencies=[Depends(allow(Role.job_hunter, Role.team_lead))])
async def vacancy_pipeline(vacancy_id: UUID, identity: CurrentIdentity, audit: AuditDep,
                           session: SessionDep) -> list[ApplicationRead]:
    await get_vacancy(session=session, vacancy_id=vacancy_id)
    hunter = await job_hunter_of(session=session, identity=identity)
    applications = await service.applications_for(session=session, vacancy_id=vacancy_id,
                                                  job_hunter_id=hunter.id if hunter else None,
                                                  everyone=Role.team_lead in identity.roles)
    await audit.allowed(session, kind="person", record_ids=[a.person_id for a in applications])
    return [ApplicationRead.of(a) for a in applications]
