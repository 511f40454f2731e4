"""HTTP: record and read a person's intake interview (the holder of the person's case; their team lead reads)."""

from uuid import UUID

from fastapi import APIRouter, Depends

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.errors import NotFound
from verbinding_common.routes import PublicRoute

from ..access import NO_SUCH_PERSON, AuditDep, authorise_person
from .models import InterviewCreate, InterviewRead
from .service import read_interview, record_interview

router = APIRouter(route_class=PublicRoute, tags=["interviews"])


@router.put("/persons/{person_id}/interview", response_model=InterviewRead,
            dependencies=[Depends(allow(Role.case_manager))])
async def put_interview(person_id: UUID, body: InterviewCreate, session: SessionDep, audit: AuditDep) -> InterviewRead:
    await authorise_person(session=session, audit=audit, person_id=person_id)
    interview = await record_interview(session=session, person_id=person_id, interview=body,
                                       recorded_by=audit.caller.subject)
    if interview is None:
        raise NotFound(NO_SUCH_PERSON)
    return InterviewRead.of(interview)


@router.get("/persons/{person_id}/interview", response_model=InterviewRead,
            dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
async def get_interview(person_id: UUID, session: SessionDep, audit: AuditDep) -> InterviewRead:
    await authorise_person(session=session, audit=audit, person_id=person_id)
    interview = await read_interview(session=session, person_id=person_id)
    if interview is None:
        raise NotFound("no interview recorded for this person")
    return InterviewRead.of(interview)
