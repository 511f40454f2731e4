"""HTTP: a person's record and its lookup by COA number."""

from uuid import UUID

from fastapi import APIRouter, Depends

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.errors import NotFound

from ..access import NO_SUCH_PERSON, AuditDep, authorise_person, visible_and_audited
from .models import PersonRead
from .service import find_persons_by_coa_number, read_person

router = APIRouter(tags=["persons"])


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
