"""HTTP routes for placements, the waitlist and the case-manager assignment report."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status

from verbinding_common.auth import CurrentIdentity, Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from ..access import AuditDep, coordinated_programme, scope_of
from ..residents.service import get_resident
from . import service
from .models import (
    AssignmentDelay,
    CaseManagerAssignment,
    PlacementCreate,
    PlacementLeave,
    PlacementRead,
    PlacementStatus,
)
from .stays import StayRules

router = APIRouter(route_class=PublicRoute, tags=["placements"])
partners = [Depends(allow(Role.programme_coordinator, Role.ngo_partner))]


async def stay_rules(request: Request) -> StayRules:
    settings = request.app.state.settings
    return StayRules(emergency_days=settings.emergency_stay_days, warning_lead_days=settings.stay_warning_lead_days)


RulesDep = Annotated[StayRules, Depends(stay_rules)]


@router.post("/placements", status_code=status.HTTP_201_CREATED, dependencies=partners)
async def request_placement(body: PlacementCreate, identity: CurrentIdentity, session: SessionDep,
                            rules: RulesDep, audit: AuditDep) -> PlacementRead:
    """A bed in the resident's operator's open shelters of their programme, or a place on the waitlist."""
    resident = await get_resident(session=session, resident_id=body.resident_id, scope=scope_of(identity),
                                  audit=audit)
    return await service.request_placement(session=session, resident=resident, rules=rules)


@router.get("/placements", dependencies=partners)
async def list_placements(identity: CurrentIdentity, session: SessionDep, audit: AuditDep,
                          status: PlacementStatus | None = None, shelter_id: UUID | None = None,
                          limit: Annotated[int, Query(ge=1, le=500)] = 100,
                          offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[PlacementRead]:
    """The caller's placements and waiting requests (an NGO its own organisation's, a coordinator its
    programme's), in request order; `status` and `shelter_id` narrow them."""
    return await service.list_placements(session=session, scope=scope_of(identity), status=status,
                                         shelter_id=shelter_id, limit=limit, offset=offset, audit=audit)


@router.get("/placements/{placement_id}", dependencies=partners)
async def read_placement(placement_id: UUID, identity: CurrentIdentity, session: SessionDep,
                         audit: AuditDep) -> PlacementRead:
    placement = await service.get_placement(session=session, placement_id=placement_id, scope=scope_of(identity),
                                            audit=audit)
    return await service.describe(session=session, placement=placement)


@router.post("/placements/{placement_id}/leave", dependencies=partners)
async def leave(placement_id: UUID, body: PlacementLeave, identity: CurrentIdentity, session: SessionDep,
                rules: RulesDep, audit: AuditDep) -> PlacementRead:
    placement = await service.leave(session=session, placement_id=placement_id, scope=scope_of(identity),
                                    outcome=body.outcome, rules=rules, audit=audit)
    return PlacementRead.of(placement)


@router.post("/placements/{placement_id}/withdraw", dependencies=partners)
async def withdraw(placement_id: UUID, identity: CurrentIdentity, session: SessionDep,
                   audit: AuditDep) -> PlacementRead:
    """Take a waiting request off the waitlist (409 naming the status when it is placed or over)."""
    placement = await service.withdraw(session=session, placement_id=placement_id, scope=scope_of(identity),
                                       audit=audit)
    return PlacementRead.of(placement)


@router.post("/placements/{placement_id}/case-manager", dependencies=[Depends(allow(Role.programme_coordinator))])
async def assign_case_manager(placement_id: UUID, body: CaseManagerAssignment, identity: CurrentIdentity,
                              session: SessionDep, audit: AuditDep) -> PlacementRead:
    coordinated_programme(identity)
    placement = await service.assign_case_manager(session=session, placement_id=placement_id,
                                                  scope=scope_of(identity), case_manager=body.case_manager,
                                                  audit=audit)
    return PlacementRead.of(placement)


@router.get("/waitlist", dependencies=partners)
async def read_waitlist(identity: CurrentIdentity, session: SessionDep) -> list[PlacementRead]:
    return await service.waitlist(session=session, scope=scope_of(identity))


@router.get("/reports/case-manager-assignment", dependencies=partners)
async def case_manager_assignment(identity: CurrentIdentity, session: SessionDep) -> list[AssignmentDelay]:
    """Per shelter: hours from placement to an assigned case manager (median, p90) and the longest wait now."""
    return await service.assignment_delays(session=session, scope=scope_of(identity))
