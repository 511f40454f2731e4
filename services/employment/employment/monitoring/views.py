"""HTTP route for the participation report."""

from datetime import date

from fastapi import APIRouter, Depends

from verbinding_common.auth import Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from .models import ParticipationReport
from .service import participation_report

router = APIRouter(route_class=PublicRoute, tags=["monitoring"])


@router.get("/reports/participation", dependencies=[Depends(allow(Role.team_lead, Role.ops))])
async def read_participation(session: SessionDep, as_of: date | None = None) -> ParticipationReport:
    return await participation_report(session=session, as_of=as_of or date.today())
