"""Programmes, shelters, residents, placements and their reports: forwarded to shelter-placement as the caller.

Shelter-placement decides who sees which record (an NGO its own organisation's, a coordinator its programme's);
the gateway checks the role and passes the answer through.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from verbinding_common.auth import Role
from verbinding_common.idempotency import IdempotentRoute

from ..access.dependencies import CallerDep, require
from ..downstream import Downstream, segment

router = APIRouter(route_class=IdempotentRoute, prefix="/api/v1", tags=["shelters"])

JsonBody = Annotated[dict[str, Any], Body()]
PlacementStatus = Literal["waitlisted", "placed", "ended", "withdrawn"]
COORDINATOR = [Depends(require(Role.programme_coordinator))]
PARTNERS = [Depends(require(Role.programme_coordinator, Role.ngo_partner))]


def shelter_placement(request: Request) -> Downstream:
    return request.app.state.shelter_placement


ShelterPlacementDep = Annotated[Downstream, Depends(shelter_placement)]



@router.get("/programmes", dependencies=PARTNERS, summary="Programmes and their maximum stay")
async def list_programmes(request: Request, caller: CallerDep, service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "GET", "/programmes")


@router.post("/shelters", dependencies=COORDINATOR,
             summary="Plan a shelter in the coordinator's programme: {name, neighbourhood, operator, capacity}")
async def create_shelter(body: JsonBody, request: Request, caller: CallerDep,
                         service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "POST", "/shelters", body)


@router.get("/shelters", dependencies=PARTNERS, summary="The shelters the caller may see")
async def list_shelters(request: Request, caller: CallerDep, service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "GET", "/shelters")


@router.get("/shelters/capacity", dependencies=[Depends(require(Role.programme_coordinator, Role.ngo_partner,
                                                                Role.ops))],
            summary="Every shelter's capacity, occupancy and free places (figures only)")
async def capacity(request: Request, caller: CallerDep, service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "GET", "/shelters/capacity")


@router.get("/shelters/waitlist", dependencies=PARTNERS, summary="The waitlists the caller may see, in order")
async def waitlist(request: Request, caller: CallerDep, service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "GET", "/waitlist")


@router.get("/shelters/reports/case-manager-assignment", dependencies=PARTNERS,
            summary="Per shelter: hours from placement to an assigned case manager (median, p90, longest now)")
async def assignment_report(request: Request, caller: CallerDep, service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "GET", "/reports/case-manager-assignment")


@router.get("/shelters/{shelter_id}", dependencies=PARTNERS, summary="One shelter")
async def read_shelter(shelter_id: str, request: Request, caller: CallerDep, service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "GET", f"/shelters/{segment(shelter_id)}")


@router.patch("/shelters/{shelter_id}", dependencies=COORDINATOR, summary="Change capacity: {capacity}")
async def change_capacity(shelter_id: str, body: JsonBody, request: Request, caller: CallerDep,
                          service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "PATCH", f"/shelters/{segment(shelter_id)}", body)


@router.post("/shelters/{shelter_id}/consultation", dependencies=COORDINATOR,
             summary="Record the neighbourhood consultation: {held_on, reference}")
async def record_consultation(shelter_id: str, body: JsonBody, request: Request, caller: CallerDep,
                              service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "POST", f"/shelters/{segment(shelter_id)}/consultation", body)


@router.post("/shelters/{shelter_id}/status", dependencies=COORDINATOR,
             summary="Move along the life cycle: {status: open | closing | closed}")
async def change_status(shelter_id: str, body: JsonBody, request: Request, caller: CallerDep,
                        service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "POST", f"/shelters/{segment(shelter_id)}/status", body)


@router.post("/residents", dependencies=PARTNERS,
             summary="Register a resident: {pseudonym, programme, year_of_birth, languages, vulnerability}")
async def register_resident(body: JsonBody, request: Request, caller: CallerDep,
                            service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "POST", "/residents", body)


@router.get("/residents/{resident_id}", dependencies=PARTNERS, summary="One resident")
async def read_resident(resident_id: str, request: Request, caller: CallerDep,
                        service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "GET", f"/residents/{segment(resident_id)}")


@router.post("/placements", dependencies=PARTNERS,
             summary="Request a bed for a resident: {resident_id}; placed, or waitlisted by vulnerability (409 names "
                     "the placement the resident already has: existing_id)")
async def request_placement(body: JsonBody, request: Request, caller: CallerDep,
                            service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "POST", "/placements", body)


@router.get("/placements", dependencies=PARTNERS,
            summary="The caller's placements and waiting requests (an NGO its own, a coordinator its programme's), "
                    "in request order")
async def list_placements(
        request: Request, caller: CallerDep, service: ShelterPlacementDep,
        status: Annotated[PlacementStatus | None, Query(description="only placements in this status")] = None,
        shelter_id: Annotated[UUID | None, Query(description="only placements in this shelter")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Response:
    # Declared for the OpenAPI document and checked here; the query itself is forwarded as sent.
    return await service.forward(request, caller, "GET", "/placements")


@router.get("/placements/{placement_id}", dependencies=PARTNERS, summary="One placement")
async def read_placement(placement_id: str, request: Request, caller: CallerDep,
                         service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "GET", f"/placements/{segment(placement_id)}")


@router.post("/placements/{placement_id}/leave", dependencies=PARTNERS,
             summary="The resident leaves: {outcome: legal_residence | onward_migration | return | other}")
async def leave(placement_id: str, body: JsonBody, request: Request, caller: CallerDep,
                service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "POST", f"/placements/{segment(placement_id)}/leave", body)


@router.post("/placements/{placement_id}/withdraw", dependencies=PARTNERS,
             summary="Take a waiting request off the waitlist (409 naming the status when placed or over)")
async def withdraw(placement_id: str, request: Request, caller: CallerDep, service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "POST", f"/placements/{segment(placement_id)}/withdraw")


@router.post("/placements/{placement_id}/case-manager", dependencies=COORDINATOR,
             summary="Assign the programme case manager: {case_manager}")
async def assign_case_manager(placement_id: str, body: JsonBody, request: Request, caller: CallerDep,
                              service: ShelterPlacementDep) -> Response:
    return await service.forward(request, caller, "POST", f"/placements/{segment(placement_id)}/case-manager",
                          body)
