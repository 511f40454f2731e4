"""An NGO partner's webhook endpoints: register (the secret shown once), list, pause, resume, replay, disable,
rotate, delete; and the secrets they sign with, sealed at rest."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common import sealing
from verbinding_common.contracts.shelter import Programme
from verbinding_common.errors import NotFound, RuleViolated

from ..changes.models import CapacityChange
from .models import EndpointStatus, WebhookAttempt, WebhookEndpoint


class EndpointNotFound(NotFound):
    """No such endpoint of this organisation (another organisation's answers the same)."""

    def __init__(self, detail: str = "no such webhook endpoint") -> None:
        super().__init__(detail)


@dataclass(frozen=True)
class Secrets:
    """An endpoint's signing secrets in the clear: the current one, and during a rotation the previous one."""

    current: str
    previous: str | None = None
    previous_until: datetime | None = None

    def signing(self, at: datetime) -> list[str]:
        """The secrets that sign a message sent at `at`."""
        if self.previous and self.previous_until and self.previous_until > at:
            return [self.current, self.previous]
        return [self.current]


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def open_secrets(keyring: sealing.Keyring, endpoint: WebhookEndpoint) -> Secrets:
    """The endpoint's secrets, unsealed."""
    data_key = sealing.unwrap(keyring, wrapped=endpoint.wrapped_key, kek_id=endpoint.kek_id, owner_id=endpoint.id)
    previous = None
    if endpoint.previous_secret_sealed is not None:
        previous = sealing.open_text(data_key, endpoint.previous_secret_sealed, owner_id=endpoint.id,
                                     field="previous_secret")
    return Secrets(current=sealing.open_text(data_key, endpoint.secret_sealed, owner_id=endpoint.id,
                                             field="secret"),
                   previous=previous, previous_until=endpoint.previous_secret_until)


async def log_end(session: AsyncSession) -> int:
    return await session.scalar(select(func.coalesce(func.max(CapacityChange.position), 0))) or 0


async def register_endpoint(*, session: AsyncSession, keyring: sealing.Keyring, organisation: str, url: str,
                            description: str | None, programmes: list[Programme],
                            shelter_ids: list[UUID]) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; it receives the capacity changes logged from now on that pass its filter. Returns
    the endpoint and its secret (kept only sealed)."""
    endpoint_id, secret = uuid4(), new_secret()
    data_key = sealing.new_data_key(keyring, endpoint_id)
    endpoint = WebhookEndpoint(id=endpoint_id, organisation=organisation, url=url, description=description,
                               programmes=[p.value for p in programmes], shelter_ids=list(dict.fromkeys(shelter_ids)),
                               wrapped_key=data_key.wrapped, kek_id=data_key.kek_id,
                               secret_sealed=sealing.seal_text(data_key.key, secret, owner_id=endpoint_id,
                                                               field="secret"),
                               status=EndpointStatus.active, cursor=await log_end(session), failures=0, revision=0,
                               replays=0)
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint, secret


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


async def _changed(session: AsyncSession, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A change the delivering process must see: it reloads the endpoint when the revision moves."""
    endpoint.revision += 1
    await session.flush()
    return endpoint


async def pause_endpoint(*, session: AsyncSession, organisation: str, endpoint_id: UUID) -> WebhookEndpoint:
    """Hold deliveries; what changes meanwhile is delivered, in order, when the endpoint resumes."""
    endpoint = await get_endpoint(session=session, organisation=organisation, endpoint_id=endpoint_id,
                                  for_update=True)
    if endpoint.status == EndpointStatus.active:
        endpoint.status = EndpointStatus.paused
    return await _changed(session, endpoint)


async def resume_endpoint(*, session: AsyncSession, organisation: str, endpoint_id: UUID) -> WebhookEndpoint:
    """Resume a paused endpoint or re-enable a disabled one: it receives what it missed, from where it stopped."""
    endpoint = await get_endpoint(session=session, organisation=organisation, endpoint_id=endpoint_id,
                                  for_update=True)
    endpoint.status = EndpointStatus.active
    endpoint.disabled_reason = None
    endpoint.failures = 0
    endpoint.next_attempt_at = None
    return await _changed(session, endpoint)


async def disable_endpoint(*, session: AsyncSession, organisation: str, endpoint_id: UUID) -> WebhookEndpoint:
    """Stop deliveries until the endpoint is resumed (which replays what it missed); the reason says who did it."""
    endpoint = await get_endpoint(session=session, organisation=organisation, endpoint_id=endpoint_id,
                                  for_update=True)
    endpoint.status = EndpointStatus.disabled
    endpoint.disabled_reason = "disabled by its organisation"
    return await _changed(session, endpoint)


async def replay(*, session: AsyncSession, organisation: str, endpoint_id: UUID,
                 after_position: int) -> WebhookEndpoint:
    """Deliver again, in order, every change logged after `after_position` (what retention kept): the cursor moves
    back. Each message keeps its `webhook-id`, so a receiver can tell what it already has."""
    endpoint = await get_endpoint(session=session, organisation=organisation, endpoint_id=endpoint_id,
                                  for_update=True)
    if after_position > await log_end(session):
        raise RuleViolated("after_position lies beyond the end of the capacity log")
    endpoint.cursor = after_position
    endpoint.replays += 1
    endpoint.failures = 0
    endpoint.next_attempt_at = None
    return await _changed(session, endpoint)


async def rotate_secret(*, session: AsyncSession, keyring: sealing.Keyring, organisation: str, endpoint_id: UUID,
                        overlap: timedelta) -> tuple[WebhookEndpoint, str]:
    """A new signing secret; the current one keeps signing beside it for `overlap`."""
    endpoint = await get_endpoint(session=session, organisation=organisation, endpoint_id=endpoint_id,
                                  for_update=True)
    current = open_secrets(keyring, endpoint).current
    secret = new_secret()
    data_key = sealing.new_data_key(keyring, endpoint.id)  # re-wrapped under the current key-encryption key
    endpoint.wrapped_key, endpoint.kek_id = data_key.wrapped, data_key.kek_id
    endpoint.secret_sealed = sealing.seal_text(data_key.key, secret, owner_id=endpoint.id, field="secret")
    endpoint.previous_secret_sealed = sealing.seal_text(data_key.key, current, owner_id=endpoint.id,
                                                        field="previous_secret")
    endpoint.previous_secret_until = datetime.now(UTC) + overlap
    return await _changed(session, endpoint), secret


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
