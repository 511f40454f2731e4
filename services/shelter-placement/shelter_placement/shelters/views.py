"""HTTP routes for programmes and shelters (coordinators manage them; an NGO partner reads its own)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel

from verbinding_common.auth import CurrentIdentity, Role, allow
from verbinding_common.contracts.shelter import Programme
from verbinding_common.db import SessionDep
from verbinding_common.routes import PublicRoute

from ..access import coordinated_programme, scope_of
from ..placements.stays import MAX_STAY_MONTHS
from ..placements.views import RulesDep
from . import service
from .models import ConsultationRecord, ShelterCreate, ShelterRead, ShelterUpdate, StatusChange

router = APIRouter(route_class=PublicRoute, tags=["shelters"])
coordinator = [Depends(allow(Role.programme_coordinator))]
partners = [Depends(allow(Role.programme_coordinator, Role.ngo_partner))]


class ProgrammeRead(BaseModel):
    programme: Programme
    max_stay_months: int | None
    max_stay_days: int | None


@router.get("/programmes", dependencies=partners)
async def list_programmes(rules: RulesDep) -> list[ProgrammeRead]:
    return [ProgrammeRead(programme=p, max_stay_months=MAX_STAY_MONTHS.get(p),
                          max_stay_days=None if p in MAX_STAY_MONTHS else rules.emergency_days) for p in Programme]


@router.post("/shelters", status_code=status.HTTP_201_CREATED, dependencies=coordinator)
async def create_shelter(body: ShelterCreate, identity: CurrentIdentity, session: SessionDep) -> ShelterRead:
    shelter = await service.create_shelter(session=session, programme=coordinated_programme(identity),
                                           name=body.name, neighbourhood=body.neighbourhood, operator=body.operator,
                                           capacity=body.capacity)
    return ShelterRead.of(shelter)


@router.get("/shelters", dependencies=partners)
async def list_shelters(identity: CurrentIdentity, session: SessionDep) -> list[ShelterRead]:
    return [ShelterRead.of(s) for s in await service.list_shelters(session=session, scope=scope_of(identity))]


@router.get("/shelters/capacity", dependencies=[Depends(allow(Role.programme_coordinator, Role.ngo_partner,
                                                              Role.ops))])
async def capacity_of_all(session: SessionDep) -> list[ShelterRead]:
    """Every shelter's capacity and occupancy: figures only, as the capacity events carry them."""
    return [ShelterRead.of(s) for s in await service.capacity_of_all(session=session)]


@router.get("/shelters/{shelter_id}", dependencies=partners)
async def read_shelter(shelter_id: UUID, identity: CurrentIdentity, session: SessionDep) -> ShelterRead:
    return ShelterRead.of(await service.get_shelter(session=session, shelter_id=shelter_id, scope=scope_of(identity)))


@router.patch("/shelters/{shelter_id}", dependencies=coordinator)
async def change_capacity(shelter_id: UUID, body: ShelterUpdate, identity: CurrentIdentity, session: SessionDep,
                          rules: RulesDep) -> ShelterRead:
    shelter = await service.set_capacity(session=session, shelter_id=shelter_id, scope=scope_of(identity),
                                         capacity=body.capacity, rules=rules)
    return ShelterRead.of(shelter)


@router.post("/shelters/{shelter_id}/consultation", dependencies=coordinator)
async def record_consultation(shelter_id: UUID, body: ConsultationRecord, identity: CurrentIdentity,
                              session: SessionDep) -> ShelterRead:
    shelter = await service.record_consultation(session=session, shelter_id=shelter_id, scope=scope_of(identity),
                                                held_on=body.held_on, reference=body.reference)
    return ShelterRead.of(shelter)


@router.post("/shelters/{shelter_id}/status", dependencies=coordinator)
async def change_status(shelter_id: UUID, body: StatusChange, identity: CurrentIdentity, session: SessionDep,
                        rules: RulesDep) -> ShelterRead:
    shelter = await service.change_status(session=session, shelter_id=shelter_id, scope=scope_of(identity),
                                          status=body.status, rules=rules)
    return ShelterRead.of(shelter)
