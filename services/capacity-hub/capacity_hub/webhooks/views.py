"""An NGO partner's webhook endpoints for shelter capacity (Standard Webhooks): its own, and nobody else's."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response

from verbinding_common.auth import CurrentIdentity, Identity, Role, allow
from verbinding_common.db import SessionDep
from verbinding_common.errors import Forbidden, RuleViolated
from verbinding_common.routes import PublicRoute

from . import service
from .schemas import (
    WebhookAttemptRead,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointRead,
    WebhookReplay,
    WebhookSecret,
)
from .targets import TargetRefused, check_url

router = APIRouter(route_class=PublicRoute, prefix="/webhooks", tags=["webhooks"],
                   dependencies=[Depends(allow(Role.ngo_partner))])
NOT_FOUND = {404: {"description": "no such endpoint of the caller's organisation"}}


def _organisation(caller: Identity) -> str:
    if not caller.organisation:  # ngo_partner identities are bound to one (the gateway's settings refuse otherwise)
        raise Forbidden("this identity is not bound to an organisation")
    return caller.organisation


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register an endpoint (its secret is shown once)",
             responses={422: {"description": "the URL may not receive webhooks, or the body is malformed"}})
async def register(body: WebhookEndpointCreate, request: Request, caller: CurrentIdentity,
                   session: SessionDep) -> WebhookEndpointCreated:
    try:
        await check_url(body.url, insecure_allowed=request.app.state.settings.insecure_webhook_targets)
    except TargetRefused as exc:
        raise RuleViolated(str(exc)) from None
    endpoint, secret = await service.register_endpoint(
        session=session, keyring=request.app.state.webhook_keyring, organisation=_organisation(caller),
        url=body.url, description=body.description, programmes=body.programmes, shelter_ids=body.shelter_ids)
    return WebhookEndpointCreated(**WebhookEndpointRead.of(endpoint).model_dump(), secret=secret)


@router.get("", summary="The caller's endpoints")
async def list_endpoints(caller: CurrentIdentity, session: SessionDep) -> list[WebhookEndpointRead]:
    endpoints = await service.list_endpoints(session=session, organisation=_organisation(caller))
    return [WebhookEndpointRead.of(endpoint) for endpoint in endpoints]


@router.get("/{endpoint_id}", summary="One endpoint, with its status and why it was disabled", responses=NOT_FOUND)
async def read_endpoint(endpoint_id: UUID, caller: CurrentIdentity, session: SessionDep) -> WebhookEndpointRead:
    return WebhookEndpointRead.of(await service.get_endpoint(session=session, organisation=_organisation(caller),
                                                             endpoint_id=endpoint_id))


@router.post("/{endpoint_id}/pause", summary="Hold deliveries (they wait, in order)", responses=NOT_FOUND)
async def pause(endpoint_id: UUID, caller: CurrentIdentity, session: SessionDep) -> WebhookEndpointRead:
    return WebhookEndpointRead.of(await service.pause_endpoint(session=session, organisation=_organisation(caller),
                                                               endpoint_id=endpoint_id))


@router.post("/{endpoint_id}/resume", summary="Resume or re-enable: what was missed is delivered, in order",
             responses=NOT_FOUND)
async def resume(endpoint_id: UUID, caller: CurrentIdentity, session: SessionDep) -> WebhookEndpointRead:
    return WebhookEndpointRead.of(await service.resume_endpoint(session=session, organisation=_organisation(caller),
                                                                endpoint_id=endpoint_id))


@router.post("/{endpoint_id}/disable", summary="Stop deliveries until resumed (resuming replays what was missed)",
             responses=NOT_FOUND)
async def disable(endpoint_id: UUID, caller: CurrentIdentity, session: SessionDep) -> WebhookEndpointRead:
    return WebhookEndpointRead.of(await service.disable_endpoint(session=session, organisation=_organisation(caller),
                                                                 endpoint_id=endpoint_id))


@router.post("/{endpoint_id}/replay", summary="Deliver again, in order, every change after a log position",
             responses={**NOT_FOUND, 422: {"description": "the position lies beyond the end of the log"}})
async def replay(endpoint_id: UUID, body: WebhookReplay, caller: CurrentIdentity,
                 session: SessionDep) -> WebhookEndpointRead:
    return WebhookEndpointRead.of(await service.replay(session=session, organisation=_organisation(caller),
                                                       endpoint_id=endpoint_id, after_position=body.after_position))


@router.post("/{endpoint_id}/rotate-secret", summary="A new secret (shown once); the old one signs too for a while",
             responses=NOT_FOUND)
async def rotate_secret(endpoint_id: UUID, request: Request, caller: CurrentIdentity,
                        session: SessionDep) -> WebhookSecret:
    overlap = timedelta(seconds=request.app.state.settings.webhook_rotation_overlap_s)
    endpoint, secret = await service.rotate_secret(session=session, keyring=request.app.state.webhook_keyring,
                                                   organisation=_organisation(caller), endpoint_id=endpoint_id,
                                                   overlap=overlap)
    assert endpoint.previous_secret_until is not None
    return WebhookSecret(endpoint_id=endpoint.id, secret=secret, previous_secret_until=endpoint.previous_secret_until)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete the endpoint",
               responses=NOT_FOUND)
async def delete(endpoint_id: UUID, caller: CurrentIdentity, session: SessionDep) -> Response:
    await service.delete_endpoint(session=session, organisation=_organisation(caller), endpoint_id=endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{endpoint_id}/attempts", summary="Delivery attempts, newest first: status, latency, error",
            responses=NOT_FOUND)
async def attempts(endpoint_id: UUID, caller: CurrentIdentity, session: SessionDep,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[WebhookAttemptRead]:
    found = await service.list_attempts(session=session, organisation=_organisation(caller),
                                        endpoint_id=endpoint_id, limit=limit)
    return [WebhookAttemptRead.of(attempt) for attempt in found]
