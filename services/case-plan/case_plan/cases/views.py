"""HTTP routes for cases and the waitlist."""

from uuid import UUID

from fastapi import APIRouter, Depends

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from ..access import AuditDep, authorise_case, authorise_case_of_person
from . import service
from .models import CaseClose, CaseRead, WaitlistEntryRead

router = APIRouter(route_class=PublicRoute, tags=["cases"])
# For the gateway's own composition (the overview, the COA status), not published.
internal = APIRouter(tags=["cases"])


@router.get("/cases/{case_id}", dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
async def read_case(case_id: UUID, audit: AuditDep, session: SessionDep) -> CaseRead:
    case = await authorise_case(session=session, audit=audit, case_id=case_id)
    return await service.describe(session=session, case=case)


@internal.get("/persons/{person_id}/case",
            dependencies=[Depends(allow(Role.case_manager, Role.team_lead, Role.coa_integration))])
async def read_case_of_person(person_id: UUID, audit: AuditDep, session: SessionDep) -> CaseRead:
    case = await authorise_case_of_person(session=session, audit=audit, person_id=person_id)
    return await service.describe(session=session, case=case)


@router.post("/cases/{case_id}/close", dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
async def close_case(case_id: UUID, body: CaseClose, audit: AuditDep, session: SessionDep) -> CaseRead:
    await authorise_case(session=session, audit=audit, case_id=case_id)
    case = await service.close_case(session=session, case_id=case_id, reason=body.reason)
    return await service.describe(session=session, case=case)


@router.get("/waitlist", dependencies=[Depends(allow(Role.team_lead))])
async def read_waitlist(audit: AuditDep, session: SessionDep) -> list[WaitlistEntryRead]:
    waiting = await service.waitlist(session=session)
    await audit.allowed(session, kind="case", record_ids=[entry.case_id for entry in waiting])
    return waiting
