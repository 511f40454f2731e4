"""An NGO partner's webhook endpoints: register (the secret shown once), list, pause, resume, rotate, delete."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.shelter import Programme
from verbinding_common.errors import NotFound

from .models import CapacityChange, EndpointStatus, WebhookAttempt, WebhookEndpoint


class EndpointNotFound(NotFound):
    """No such endpoint of this organisation (another organisation's answers the same)."""

    def __init__(self, detail: str = "no such webhook endpoint") -> None:
        super().__init__(detail)


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


async def register_endpoint(*, session: AsyncSession, organisation: str, url: str, description: str | None,
                            programmes: list[Programme], shelter_ids: list[UUID]) -> WebhookEndpoint:
    """Register an endpoint; it receives the capacity changes logged from now on that pass its filter."""
    now_at = await session.scalar(select(func.coalesce(func.max(CapacityChange.position), 0)))
    endpoint = WebhookEndpoint(organisation=organisation, url=url, description=description,
                               programmes=[p.value for p in programmes], shelter_ids=list(dict.fromkeys(shelter_ids)),
                               secret=new_secret(), status=EndpointStatus.active, cursor=now_at, failures=0)
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


async def list_endpoints(*, session: AsyncSession, organisation: str) -> list[WebhookEndpoint]:
    """The organisation's endpoints, oldest first."""
    return list(await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.organisation == organisation)
                                      .order_by(WebhookEndpoint.created_at)))


async def get_endpoint(*, session: AsyncSession, organisation: str, endpoint_id: UUID,
                       for_update: bool = False) -> WebhookEndpoint:
    """One of the organisation's endpoints (EndpointNotFound for another organisation's)."""
    endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=for_update,
                                 populate_existing=for_update)
    if endpoint is None or endpoint.organisation != organisation:
        raise EndpointNotFound()
    return endpoint


async def pause_endpoint(*, session: AsyncSession, organisation: str, endpoint_id: UUID) -> WebhookEndpoint:
    """Hold deliveries; what changes meanwhile is delivered, in order, when the endpoint resumes."""
    endpoint = await get_endpoint(session=session, organisation=organisation, endpoint_id=endpoint_id,
                                  for_update=True)
    if endpoint.status == EndpointStatus.active:
        endpoint.status = EndpointStatus.paused
    await session.flush()
    return endpoint


async def resume_endpoint(*, session: AsyncSession, organisation: str, endpoint_id: UUID) -> WebhookEndpoint:
    """Resume a paused endpoint or re-enable a disabled one: it receives what it missed, from where it stopped."""
    endpoint = await get_endpoint(session=session, organisation=organisation, endpoint_id=endpoint_id,
                                  for_update=True)
    endpoint.status = EndpointStatus.active
    endpoint.disabled_reason = None
    endpoint.failures = 0
    endpoint.next_attempt_at = None
    await session.flush()
    return endpoint


async def rotate_secret(*, session: AsyncSession, organisation: str, endpoint_id: UUID,
                        overlap: timedelta) -> tuple[WebhookEndpoint, str]:
    """A new signing secret; the current one keeps signing beside it for `overlap`."""
    endpoint = await get_endpoint(session=session, organisation=organisation, endpoint_id=endpoint_id,
                                  for_update=True)
    secret = new_secret()
    endpoint.previous_secret, endpoint.secret = endpoint.secret, secret
    endpoint.previous_secret_until = datetime.now(UTC) + overlap
    await session.flush()
    return endpoint, secret


async def delete_endpoint(*, session: AsyncSession, organisation: str, endpoint_id: UUID) -> None:
    """Delete the endpoint and its attempt history."""
    await get_endpoint(session=session, organisation=organisation, endpoint_id=endpoint_id)
    await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))


async def list_attempts(*, session: AsyncSession, organisation: str, endpoint_id: UUID,
                        limit: int) -> list[WebhookAttempt]:
    """The endpoint's latest delivery attempts, newest first."""
    await get_endpoint(session=session, organisation=organisation, endpoint_id=endpoint_id)
    return list(await session.scalars(select(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint_id)
                                      .order_by(WebhookAttempt.id.desc()).limit(limit)))
