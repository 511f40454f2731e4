"""An NGO partner's webhook endpoints for shelter capacity (Standard Webhooks): its own, and nobody else's."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response

from verbinding_common.auth import Identity, Role
from verbinding_common.db import SessionDep
from verbinding_common.idempotency import IdempotentRoute

from ..access.dependencies import CallerDep, require
from . import service
from .schemas import (
    WebhookAttemptRead,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointRead,
    WebhookSecret,
)
from .targets import TargetRefused, check_url

router = APIRouter(route_class=IdempotentRoute, prefix="/api/v1/webhooks", tags=["webhooks"],
                   dependencies=[Depends(require(Role.ngo_partner))])
NOT_FOUND = {404: {"description": "no such endpoint of the caller's organisation"}}


def _organisation(caller: Identity) -> str:
    if not caller.organisation:  # ngo_partner identities are bound to one (gateway settings refuse otherwise)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this identity is not bound to an organisation")
    return caller.organisation


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register an endpoint (its secret is shown once)",
             responses={422: {"description": "the URL may not receive webhooks, or the body is malformed"}})
async def register(body: WebhookEndpointCreate, request: Request, caller: CallerDep,
                   session: SessionDep) -> WebhookEndpointCreated:
    try:
        await check_url(body.url, insecure_allowed=request.app.state.settings.insecure_webhook_targets)
    except TargetRefused as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    endpoint = await service.register_endpoint(session=session, organisation=_organisation(caller), url=body.url,
                                               description=body.description, programmes=body.programmes,
                                               shelter_ids=body.shelter_ids)
    return WebhookEndpointCreated(**WebhookEndpointRead.of(endpoint).model_dump(), secret=endpoint.secret)


@router.get("", summary="The caller's endpoints")
async def list_endpoints(caller: CallerDep, session: SessionDep) -> list[WebhookEndpointRead]:
    endpoints = await service.list_endpoints(session=session, organisation=_organisation(caller))
    return [WebhookEndpointRead.of(endpoint) for endpoint in endpoints]


@router.get("/{endpoint_id}", summary="One endpoint, with its status and why it was disabled", responses=NOT_FOUND)
async def read_endpoint(endpoint_id: UUID, caller: CallerDep, session: SessionDep) -> WebhookEndpointRead:
    return WebhookEndpointRead.of(await service.get_endpoint(session=session, organisation=_organisation(caller),
                                                             endpoint_id=endpoint_id))


@router.post("/{endpoint_id}/pause", summary="Hold deliveries (they wait, in order)", responses=NOT_FOUND)
async def pause(endpoint_id: UUID, caller: CallerDep, session: SessionDep) -> WebhookEndpointRead:
    return WebhookEndpointRead.of(await service.pause_endpoint(session=session, organisation=_organisation(caller),
                                                               endpoint_id=endpoint_id))


@router.post("/{endpoint_id}/resume", summary="Resume or re-enable: what was missed is delivered, in order",
             responses=NOT_FOUND)
async def resume(endpoint_id: UUID, caller: CallerDep, session: SessionDep) -> WebhookEndpointRead:
    return WebhookEndpointRead.of(await service.resume_endpoint(session=session, organisation=_organisation(caller),
                                                                endpoint_id=endpoint_id))


@router.post("/{endpoint_id}/rotate-secret", summary="A new secret (shown once); the old one signs too for a while",
             responses=NOT_FOUND)
async def rotate_secret(endpoint_id: UUID, request: Request, caller: CallerDep, session: SessionDep) -> WebhookSecret:
    overlap = timedelta(seconds=request.app.state.settings.webhook_rotation_overlap_s)
    endpoint, secret = await service.rotate_secret(session=session, organisation=_organisation(caller),
                                                   endpoint_id=endpoint_id, overlap=overlap)
    assert endpoint.previous_secret_until is not None
    return WebhookSecret(endpoint_id=endpoint.id, secret=secret, previous_secret_until=endpoint.previous_secret_until)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete the endpoint",
               responses=NOT_FOUND)
async def delete(endpoint_id: UUID, caller: CallerDep, session: SessionDep) -> Response:
    await service.delete_endpoint(session=session, organisation=_organisation(caller), endpoint_id=endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{endpoint_id}/attempts", summary="Delivery attempts, newest first: status, latency, error",
            responses=NOT_FOUND)
async def attempts(endpoint_id: UUID, caller: CallerDep, session: SessionDep,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[WebhookAttemptRead]:
    found = await service.list_attempts(session=session, organisation=_organisation(caller),
                                        endpoint_id=endpoint_id, limit=limit)
    return [WebhookAttemptRead.of(attempt) for attempt in found]
