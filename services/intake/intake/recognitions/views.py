"""HTTP: how far a recognition got (what the COA may see; the gateway's COA status lookup reads it)."""

from fastapi import APIRouter, Depends

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.errors import NotFound

from ..access import PERSON, RECOGNITION_STATUS_READERS, AuditDep, visible_and_audited
from .models import RecognitionStatusRead
from .service import recognition_status

router = APIRouter(tags=["recognitions"])
NO_RECOGNITION = "intake has not taken this recognition in or rejected it (yet)"


@router.get("/recognitions/{coa_registration_number}/status", response_model=RecognitionStatusRead,
            dependencies=[Depends(allow(Role.coa_integration, Role.team_lead, Role.case_manager))])
async def get_recognition_status(coa_registration_number: str, session: SessionDep,
                                 audit: AuditDep) -> RecognitionStatusRead:
    found = await recognition_status(session=session, coa_registration_number=coa_registration_number)
    if found is None:
        raise NotFound(NO_RECOGNITION)
    if found.person_id is None:  # rejected: no person behind it to protect
        return found
    if RECOGNITION_STATUS_READERS.intersection(audit.caller.roles):
        await audit.allowed(session, kind=PERSON, record_ids=[found.person_id])
    elif not await visible_and_audited(session=session, audit=audit, person_ids=[found.person_id]):
        raise NotFound(NO_RECOGNITION)
    return found
