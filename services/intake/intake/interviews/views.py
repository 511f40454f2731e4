"""HTTP: record and read a person's intake interview."""

from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, status

from verbinding_common.auth import CurrentIdentity, Role, allow
from verbinding_common.db import SessionDep

from ..audit.deps import ReaderDep
from .models import InterviewCreate, InterviewRead
from .service import read_interview, record_interview

router = APIRouter(tags=["interviews"])


@router.put("/persons/{person_id}/interview", response_model=InterviewRead,
            dependencies=[Depends(allow(Role.case_manager))])
async def put_interview(person_id: UUID, body: InterviewCreate, session: SessionDep,
                        identity: CurrentIdentity) -> InterviewRead:
    interview = await record_interview(session=session, person_id=person_id, interview=body,
                                       recorded_by=identity.subject)
    if interview is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no person with this id")
    return InterviewRead.of(interview)


@router.get("/persons/{person_id}/interview", response_model=InterviewRead,
            dependencies=[Depends(allow(Role.case_manager, Role.team_lead, Role.job_hunter))])
async def get_interview(person_id: UUID, session: SessionDep, reader: ReaderDep) -> InterviewRead:
    interview = await read_interview(session=session, person_id=person_id, reader=reader)
    if interview is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no interview recorded for this person")
    return InterviewRead.of(interview)
