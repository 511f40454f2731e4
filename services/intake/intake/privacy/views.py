"""HTTP: correcting a person's record (the holder of their case, or their team lead), with a reason, audited."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.errors import NotFound
from verbinding_common.routes import PublicRoute

from ..access import NO_SUCH_PERSON, AuditDep, authorise_person
from .access import access_export, request_access
from .models import AccessRequestRead, CorrectionRead, PersonCorrection
from .service import correct_person

router = APIRouter(route_class=PublicRoute, tags=["privacy"])


@router.post("/persons/{person_id}/corrections", response_model=CorrectionRead, status_code=201,
             dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
async def post_correction(person_id: UUID, body: PersonCorrection, session: SessionDep,
                          audit: AuditDep) -> CorrectionRead:
    await authorise_person(session=session, audit=audit, person_id=person_id)
    correction = await correct_person(session=session, person_id=person_id, correction=body,
                                      corrected_by=audit.caller.subject)
    if correction is None:
        raise NotFound(NO_SUCH_PERSON)
    return CorrectionRead.of(correction)


ACCESS_REQUEST = "access_request"


@router.post("/persons/{person_id}/access-requests", response_model=AccessRequestRead, status_code=201,
             dependencies=[Depends(allow(Role.team_lead))])
async def post_access_request(person_id: UUID, request: Request, session: SessionDep,
                              audit: AuditDep) -> AccessRequestRead:
    await authorise_person(session=session, audit=audit, person_id=person_id)
    opened = await request_access(session=session, person_id=person_id, requested_by=audit.caller.subject,
                                  now=datetime.now(UTC), export_days=request.app.state.settings.access_export_days)
    return AccessRequestRead(request_id=opened.id, person_id=person_id, requested_at=opened.requested_at,
                             expires_at=opened.expires_at, export_path=f"/access-requests/{opened.id}")


@router.get("/access-requests/{request_id}", dependencies=[Depends(allow(Role.team_lead))])
async def get_access_export(request_id: UUID, request: Request, session: SessionDep,
                            audit: AuditDep) -> dict[str, Any]:
    """The export (JSON): every field named and explained, its sources listed; only to the requester, until it
    expires; every download audited."""
    export = await access_export(session=session, request_id=request_id, requested_by=audit.caller.subject,
                                 now=datetime.now(UTC),
                                 expected_sources=request.app.state.settings.access_request_sources)
    if export is None:
        await audit.refused(kind=ACCESS_REQUEST, record_id=request_id, outcome="not_found")
        raise NotFound("no access request of yours with this id, or it expired")
    await audit.allowed(session, kind=ACCESS_REQUEST, record_ids=[request_id])
    return export
