"""Case-plan's gauges: the waitlist of cases and how full the caseloads are, per team, sampled every 15 s."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from verbinding_common.metrics import gauge, sampled

from .case_managers.models import CaseManager
from .cases.models import Case

case_waitlist = gauge("verbinding.case_plan.waitlist", unit="{case}",
                      description="Cases waiting for a case manager with room")
caseload_fill = gauge("verbinding.case_plan.caseload_fill", unit="1",
                      description="Active cases over caseload capacity, per team (1 = every case manager full)")
at_cap = gauge("verbinding.case_plan.case_managers_at_cap", unit="{case_manager}",
               description="Case managers whose caseload is at its cap, per team")


async def sample(conn: AsyncConnection) -> None:
    case_waitlist.set(await conn.scalar(select(func.count()).select_from(Case).where(Case.status == "waitlisted")))
    teams = (await conn.execute(
        select(CaseManager.team, func.sum(CaseManager.active_cases), func.sum(CaseManager.capacity),
               func.sum(case((CaseManager.active_cases >= CaseManager.capacity, 1), else_=0)))
        .group_by(CaseManager.team))).all()
    for team, active, capacity, full in teams:
        team = team or "none"
        caseload_fill.set(active / capacity if capacity else 0.0, {"team": team})
        at_cap.set(int(full), {"team": team})


caseload_gauges = sampled(name="caseload-metrics", sample=sample)
