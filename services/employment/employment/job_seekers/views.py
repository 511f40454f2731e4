"""HTTP routes for job hunters and their job seekers."""

from uuid import UUID

from fastapi import APIRouter, Depends, status

from verbinding_common.auth import CurrentIdentity, Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from ..access import AuditDep
from . import service
from .models import (
    JobHunterAssign,
    JobHunterCreate,
    JobHunterRead,
    JobSeekerRead,
    JobSeekersReassign,
    JobSeekersReassigned,
    JobSeekerUpdate,
)

router = APIRouter(route_class=PublicRoute, tags=["job seekers"])


@router.post("/job-hunters", status_code=status.HTTP_201_CREATED, dependencies=[Depends(allow(Role.team_lead))])
async def add_job_hunter(body: JobHunterCreate, session: SessionDep) -> JobHunterRead:
    hunter = await service.add_job_hunter(session=session, subject=body.subject, name=body.name)
    return JobHunterRead.of(hunter, 0)


@router.get("/job-hunters", dependencies=[Depends(allow(Role.team_lead))])
async def list_job_hunters(session: SessionDep) -> list[JobHunterRead]:
    return await service.job_hunters(session=session)


@router.get("/job-seekers", dependencies=[Depends(allow(Role.job_hunter, Role.team_lead))])
async def list_job_seekers(identity: CurrentIdentity, audit: AuditDep, session: SessionDep) -> list[JobSeekerRead]:
    seekers = await service.job_seekers(session=session, identity=identity)
    await audit.allowed(session, kind="person", record_ids=[seeker.person_id for seeker in seekers])
    return [JobSeekerRead.of(seeker) for seeker in seekers]


@router.get("/job-seekers/{person_id}", dependencies=[Depends(allow(Role.job_hunter, Role.team_lead))])
async def read_job_seeker(person_id: UUID, audit: AuditDep, session: SessionDep) -> JobSeekerRead:
    seeker = await service.authorise_job_seeker(session=session, person_id=person_id, audit=audit)
    return JobSeekerRead.of(seeker)


@router.patch("/job-seekers/{person_id}", dependencies=[Depends(allow(Role.job_hunter))])
async def update_job_seeker(person_id: UUID, body: JobSeekerUpdate, audit: AuditDep,
                            session: SessionDep) -> JobSeekerRead:
    seeker = await service.authorise_job_seeker(session=session, person_id=person_id, audit=audit)
    return JobSeekerRead.of(await service.update_job_seeker(session=session, seeker=seeker,
                                                            hours_wanted=body.hours_wanted,
                                                            district=body.district))


@router.put("/job-seekers/{person_id}/job-hunter", dependencies=[Depends(allow(Role.team_lead))])
async def assign_job_hunter(person_id: UUID, body: JobHunterAssign, session: SessionDep) -> JobSeekerRead:
    seeker = await service.assign_job_hunter(session=session, person_id=person_id, job_hunter_id=body.job_hunter_id)
    return JobSeekerRead.of(seeker)


@router.post("/job-hunters/{job_hunter_id}/job-seekers", dependencies=[Depends(allow(Role.team_lead))])
async def reassign_job_seekers(job_hunter_id: UUID, body: JobSeekersReassign,
                               session: SessionDep) -> JobSeekersReassigned:
    moved = await service.reassign(session=session, job_hunter_id=job_hunter_id, person_ids=body.person_ids,
                                   from_job_hunter_id=body.from_job_hunter_id)
    return JobSeekersReassigned(job_hunter_id=job_hunter_id, reassigned=moved)
