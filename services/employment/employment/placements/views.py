"""HTTP routes for placements, retention checks and the overview's employment section."""

from datetime import date
from uuid import UUID

from fastapi import APIRouter, Depends, status

from verbinding_common.auth import CurrentIdentity, Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from ..access import AuditDep
from ..job_seekers.service import authorise_job_seeker, authorise_record
from . import service
from .models import (
    EmploymentSummary,
    PlacementCreate,
    PlacementEnd,
    PlacementRead,
    RetentionCheckRead,
    RetentionOutcomeCreate,
)

router = APIRouter(route_class=PublicRoute, tags=["placements"])
# For the gateway's person overview, not published.
internal = APIRouter(tags=["placements"])


@router.post("/job-seekers/{person_id}/placements", status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(allow(Role.job_hunter))])
async def start_placement(person_id: UUID, body: PlacementCreate, identity: CurrentIdentity, audit: AuditDep,
                          session: SessionDep) -> PlacementRead:
    seeker = await authorise_job_seeker(session=session, person_id=person_id, audit=audit)
    placement = await service.start_placement(session=session, seeker=seeker, placement=body,
                                              recorded_by=identity.subject)
    return await service.describe_placement(session=session, placement=placement, today=date.today())


@router.get("/job-seekers/{person_id}/placements", dependencies=[Depends(allow(Role.job_hunter, Role.team_lead))])
async def list_placements(person_id: UUID, audit: AuditDep, session: SessionDep) -> list[PlacementRead]:
    await authorise_job_seeker(session=session, person_id=person_id, audit=audit)
    return await service.placements_of(session=session, person_id=person_id, today=date.today())


@router.post("/placements/{placement_id}/end", dependencies=[Depends(allow(Role.job_hunter))])
async def end_placement(placement_id: UUID, body: PlacementEnd, audit: AuditDep,
                        session: SessionDep) -> PlacementRead:
    placement = await service.find_placement(session=session, placement_id=placement_id)
    await authorise_record(session=session, audit=audit, kind="placement", record_id=placement_id,
                           person_id=placement.person_id if placement else None)
    assert placement is not None
    await service.end_placement(session=session, placement=placement, ended_on=body.ended_on, reason=body.reason)
    return await service.describe_placement(session=session, placement=placement, today=date.today())


@router.get("/retention-checks/due", dependencies=[Depends(allow(Role.job_hunter, Role.team_lead))])
async def due_retention_checks(identity: CurrentIdentity, audit: AuditDep, session: SessionDep,
                               as_of: date | None = None, overdue_only: bool = False) -> list[RetentionCheckRead]:
    due = await service.due_checks(session=session, identity=identity, today=as_of or date.today(),
                                   overdue_only=overdue_only)
    await audit.allowed(session, kind="person", record_ids=[check.person_id for check in due])
    return due


@router.post("/retention-checks/{retention_check_id}/outcome", dependencies=[Depends(allow(Role.job_hunter))])
async def record_retention_outcome(retention_check_id: UUID, body: RetentionOutcomeCreate, identity: CurrentIdentity,
                                   audit: AuditDep, session: SessionDep) -> RetentionCheckRead:
    check = await service.find_check(session=session, retention_check_id=retention_check_id)
    await authorise_record(session=session, audit=audit, kind="retention_check", record_id=retention_check_id,
                           person_id=check.person_id if check else None)
    assert check is not None
    return RetentionCheckRead.of(await service.record_outcome(session=session, check=check, outcome=body.outcome,
                                                              recorded_by=identity.subject, today=date.today()))


@internal.get("/persons/{person_id}/employment",
            dependencies=[Depends(allow(Role.case_manager, Role.team_lead, Role.job_hunter))])
async def read_employment(person_id: UUID, audit: AuditDep, session: SessionDep) -> EmploymentSummary:
    seeker = await authorise_job_seeker(session=session, person_id=person_id, audit=audit)
    return await service.employment_summary(session=session, seeker=seeker, today=date.today())
