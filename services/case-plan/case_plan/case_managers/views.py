"""HTTP routes for case managers and caseloads (a team lead manages their own team; a case manager sees their own
caseload)."""

from uuid import UUID

from fastapi import APIRouter, Depends, status

from verbinding_common.auth import CurrentIdentity, Identity, Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.errors import Forbidden, NotFound
from verbinding_common.routes import PublicRoute

from ..access import AuditDep
from ..cases import service as cases
from ..cases.models import CaseloadRead
from . import service
from .models import CaseManager, CaseManagerCreate, CaseManagerRead, CaseManagerUpdate

router = APIRouter(route_class=PublicRoute, tags=["case managers"])
team_lead = [Depends(allow(Role.team_lead))]
NO_SUCH_MANAGER = "no case manager with this id"


def _team_of(identity: Identity) -> str:
    if not identity.team:
        raise Forbidden("a team lead without a team manages no case managers")
    return identity.team


async def _of_own_team(session: SessionDep, identity: Identity, case_manager_id: UUID) -> CaseManager:
    manager = await session.get(CaseManager, case_manager_id)
    if manager is None or identity.team is None or manager.team != identity.team:
        raise NotFound(NO_SUCH_MANAGER)
    return manager


@router.post("/case-managers", status_code=status.HTTP_201_CREATED, dependencies=team_lead)
async def add_case_manager(body: CaseManagerCreate, identity: CurrentIdentity, session: SessionDep) -> CaseManagerRead:
    manager = await service.add_case_manager(session=session, subject=body.subject, name=body.name,
                                             languages=body.languages, capacity=body.capacity,
                                             team=_team_of(identity))
    return CaseManagerRead.of(manager)


@router.get("/case-managers", dependencies=team_lead)
async def list_case_managers(identity: CurrentIdentity, session: SessionDep) -> list[CaseManagerRead]:
    return [CaseManagerRead.of(m) for m in await service.list_case_managers(session=session,
                                                                             team=_team_of(identity))]


@router.patch("/case-managers/{case_manager_id}", dependencies=team_lead)
async def change_capacity(case_manager_id: UUID, body: CaseManagerUpdate, identity: CurrentIdentity,
                          session: SessionDep) -> CaseManagerRead:
    await _of_own_team(session, identity, case_manager_id)
    manager = await service.set_capacity(session=session, case_manager_id=case_manager_id, capacity=body.capacity)
    return CaseManagerRead.of(manager)


@router.get("/caseload", dependencies=[Depends(allow(Role.case_manager))])
async def own_caseload(identity: CurrentIdentity, audit: AuditDep, session: SessionDep) -> CaseloadRead:
    manager = await service.find_by_subject(session=session, subject=identity.subject)
    if manager is None:
        raise NotFound(f"{identity.subject!r} is not a registered case manager")
    caseload = await cases.caseload(session=session, manager=manager)
    await audit.allowed(session, kind="case", record_ids=[case.case_id for case in caseload.cases])
    return caseload


@router.get("/case-managers/{case_manager_id}/caseload", dependencies=team_lead)
async def caseload_of(case_manager_id: UUID, identity: CurrentIdentity, audit: AuditDep,
                      session: SessionDep) -> CaseloadRead:
    manager = await _of_own_team(session, identity, case_manager_id)
    caseload = await cases.caseload(session=session, manager=manager)
    await audit.allowed(session, kind="case", record_ids=[case.case_id for case in caseload.cases])
    return caseload
