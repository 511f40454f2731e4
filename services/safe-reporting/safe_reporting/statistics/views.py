"""Weekly anonymous counts for team leads and ops: the same figures the statistics event carries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from verbinding_common.auth import Role, allow
from verbinding_common.contracts.safe_reporting import ReportStatisticsPublished
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from .service import closed_week_statistics, closed_weeks

router = APIRouter(route_class=PublicRoute, prefix="/statistics", tags=["statistics"],
                   dependencies=[Depends(allow(Role.team_lead, Role.ops))])

Week = Annotated[str, Path(pattern=r"^\d{4}-W\d{2}$", description="an ISO week, e.g. 2026-W49")]


@router.get("/weeks/{iso_week}", response_model=ReportStatisticsPublished, summary="One closed ISO week's counts")
async def one_week(iso_week: Week, session: SessionDep) -> ReportStatisticsPublished:
    return await closed_week_statistics(session=session, week=iso_week)


@router.get("", response_model=list[ReportStatisticsPublished], summary="The most recent closed weeks' counts")
async def recent(session: SessionDep,
                 weeks: Annotated[int, Query(ge=1, le=52)] = 4) -> list[ReportStatisticsPublished]:
    return [await closed_week_statistics(session=session, week=week) for week in closed_weeks(weeks)]
