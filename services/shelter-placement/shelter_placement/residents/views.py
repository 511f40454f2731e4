"""HTTP routes for residents: registered by their operator NGO (or the programme's coordinator), read by them."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from verbinding_common.auth import CurrentIdentity, Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.errors import Forbidden
from verbinding_common.routes import PublicRoute

from ..access import AuditDep, scope_of
from . import service
from .models import ResidentCreate, ResidentRead

router = APIRouter(route_class=PublicRoute, tags=["residents"])
partners = [Depends(allow(Role.programme_coordinator, Role.ngo_partner))]


@router.post("/residents", status_code=status.HTTP_201_CREATED, dependencies=partners)
async def register_resident(body: ResidentCreate, identity: CurrentIdentity, session: SessionDep) -> ResidentRead:
    scope = scope_of(identity)
    operator = scope.operator or body.operator
    if operator is None or (scope.operator and body.operator not in (None, scope.operator)) \
            or not scope.covers(operator=operator, programme=body.programme):
        raise Forbidden("residents are registered by their operator NGO, or by the programme's coordinator "
                        "naming the operator")
    resident = await service.register_resident(
        session=session, operator=operator, programme=body.programme, pseudonym=body.pseudonym,
        year_of_birth=body.year_of_birth, languages=body.languages, vulnerability=body.vulnerability,
        scope=scope)
    return ResidentRead.of(resident)


@router.get("/residents", dependencies=partners)
async def list_residents(identity: CurrentIdentity, session: SessionDep, audit: AuditDep,
                         limit: Annotated[int, Query(ge=1, le=500)] = 100,
                         offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[ResidentRead]:
    """The residents the caller may see (an NGO its own organisation's, a coordinator its programme's)."""
    return [ResidentRead.of(resident) for resident in await service.list_residents(
        session=session, scope=scope_of(identity), limit=limit, offset=offset, audit=audit)]


@router.get("/residents/{resident_id}", dependencies=partners)
async def read_resident(resident_id: UUID, identity: CurrentIdentity, session: SessionDep,
                        audit: AuditDep) -> ResidentRead:
    return ResidentRead.of(await service.get_resident(session=session, resident_id=resident_id,
                                                      scope=scope_of(identity), audit=audit))
