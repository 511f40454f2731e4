"""HTTP: a person's record, lookup by COA number, and the status of a recognition (what the COA may see)."""

from uuid import UUID

from fastapi import APIRouter, Depends

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.errors import NotFound

from ..access import NO_SUCH_PERSON, PERSON, RECOGNITION_STATUS_READERS, AuditDep, authorise_person, visible_and_audited
from .models import PersonRead, RecognitionStatusRead
from .service import find_persons_by_coa_number, read_person, recognition_status

router = APIRouter(tags=["persons"])
NO_RECOGNITION = "no person registered for this recognition (yet)"


@router.get("/persons/{person_id}", response_model=PersonRead,
            dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
async def get_person(person_id: UUID, session: SessionDep, audit: AuditDep) -> PersonRead:
    await authorise_person(session=session, audit=audit, person_id=person_id)
    person = await read_person(session=session, person_id=person_id)
    if person is None:
        raise NotFound(NO_SUCH_PERSON)
    return PersonRead.of(person)


@router.get("/persons", response_model=list[PersonRead],
            dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
async def find_persons(coa_registration_number: str, session: SessionDep, audit: AuditDep) -> list[PersonRead]:
    persons = await find_persons_by_coa_number(session=session, coa_registration_number=coa_registration_number)
    visible = await visible_and_audited(session=session, audit=audit, person_ids=[p.id for p in persons])
    return [PersonRead.of(person) for person in persons if person.id in visible]


@router.get("/recognitions/{coa_registration_number}/status", response_model=RecognitionStatusRead,
            dependencies=[Depends(allow(Role.coa_integration, Role.team_lead, Role.case_manager))])
async def get_recognition_status(coa_registration_number: str, session: SessionDep,
                                 audit: AuditDep) -> RecognitionStatusRead:
    found = await recognition_status(session=session, coa_registration_number=coa_registration_number)
    if found is None:
        raise NotFound(NO_RECOGNITION)
    if RECOGNITION_STATUS_READERS.intersection(audit.caller.roles):
        await audit.allowed(session, kind=PERSON, record_ids=[found.person_id])
    elif not await visible_and_audited(session=session, audit=audit, person_ids=[found.person_id]):
        raise NotFound(NO_RECOGNITION)
    return found
