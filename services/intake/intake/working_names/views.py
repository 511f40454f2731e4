"""HTTP: the working names of a page of job seekers, for their own job hunter (the gateway's job-seeker list asks
once per page)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from ..access import AuditDep
from .service import working_names

router = APIRouter(route_class=PublicRoute, tags=["working names"])
# A page of job seekers: the gateway asks for more in several calls.
MAX_PERSONS = 200


class WorkingName(BaseModel):
    person_id: UUID
    working_name: str


@router.get("/working-names", dependencies=[Depends(allow(Role.job_hunter))],
            summary="The working names (first given names) of the persons the calling job hunter serves",
            description="Only persons employment gave to the caller are answered; any other is left out (whether "
                        "someone else's or unknown), and every read and refusal is audited.")
async def list_working_names(person_id: Annotated[list[UUID], Query(min_length=1, max_length=MAX_PERSONS)],
                             audit: AuditDep, session: SessionDep) -> list[WorkingName]:
    names = await working_names(session=session, audit=audit, person_ids=person_id)
    return [WorkingName(person_id=person, working_name=name) for person, name in names.items()]
