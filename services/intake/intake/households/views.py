"""HTTP: a household and those of its members the caller may see."""

from uuid import UUID

from fastapi import APIRouter, Depends

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.errors import NotFound

from ..access import AuditDep, visible_and_audited
from .models import HouseholdRead
from .service import household_members, household_read

router = APIRouter(tags=["households"])


@router.get("/households/{household_id}", response_model=HouseholdRead,
            dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
async def get_household(household_id: UUID, session: SessionDep, audit: AuditDep) -> HouseholdRead:
    members = await household_members(session=session, household_id=household_id)
    visible = await visible_and_audited(session=session, audit=audit, person_ids=[m.id for m in members])
    if not visible:
        raise NotFound("no household with this id")
    return household_read(household_id=household_id, members=[m for m in members if m.id in visible])
