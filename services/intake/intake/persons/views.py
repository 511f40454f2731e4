"""HTTP: a person's record, lookup by COA number, and the status of a recognition (what the COA may see)."""

from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, status

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep

from ..audit.deps import ReaderDep
from .models import PersonRead, RecognitionStatusRead
from .service import find_persons_by_coa_number, read_person, recognition_status

router = APIRouter(tags=["persons"])


@router.get("/persons/{person_id}", response_model=PersonRead,
            dependencies=[Depends(allow(Role.case_manager, Role.team_lead, Role.job_hunter))])
async def get_person(person_id: UUID, session: SessionDep, reader: ReaderDep) -> PersonRead:
    person = await read_person(session=session, person_id=person_id, reader=reader)
    if person is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no person with this id")
    return PersonRead.of(person)


@router.get("/persons", response_model=list[PersonRead],
            dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
async def find_persons(coa_registration_number: str, session: SessionDep, reader: ReaderDep) -> list[PersonRead]:
    persons = await find_persons_by_coa_number(session=session, coa_registration_number=coa_registration_number,
                                               reader=reader)
    return [PersonRead.of(person) for person in persons]


@router.get("/recognitions/{coa_registration_number}/status", response_model=RecognitionStatusRead,
            dependencies=[Depends(allow(Role.coa_integration, Role.team_lead, Role.case_manager))])
async def get_recognition_status(coa_registration_number: str, session: SessionDep,
                                 reader: ReaderDep) -> RecognitionStatusRead:
    found = await recognition_status(session=session, coa_registration_number=coa_registration_number,
                                     reader=reader)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no person registered for this recognition (yet)")
    return found
