"""HTTP: a household and its members."""

from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, status

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep

from ..audit.deps import ReaderDep
from .models import HouseholdRead
from .service import read_household

router = APIRouter(tags=["households"])


@router.get("/households/{household_id}", response_model=HouseholdRead,
            dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
async def get_household(household_id: UUID, session: SessionDep, reader: ReaderDep) -> HouseholdRead:
    household = await read_household(session=session, household_id=household_id, reader=reader)
    if household is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no household with this id")
    return household
