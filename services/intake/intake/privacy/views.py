"""HTTP: correcting a person's record (the holder of their case, or their team lead), with a reason, audited."""

from uuid import UUID

from fastapi import APIRouter, Depends

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.errors import NotFound
from verbinding_common.routes import PublicRoute

from ..access import NO_SUCH_PERSON, AuditDep, authorise_person
from .models import CorrectionRead, PersonCorrection
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
