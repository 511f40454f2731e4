"""Webhook delivery: at least once, in log order per endpoint, with exponential back-off and jitter.

Each endpoint is served by one task at a time (a lease on its row, so several gateway replicas share the work);
its cursor moves only past a change that was delivered or that its filter skips. A slow or dead endpoint only
holds up itself: others have tasks of their own. Every attempt is a row; 410 Gone, or too many failures in a
row, disables the endpoint with the reason, and re-enabling it replays from its cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from verbinding_common.contracts.shelter import ShelterCapacityChanged
from verbinding_common.telemetry import context_from_traceparent, get_tracer

from .feed import CapacityFeed, Change
from .models import CapacityChange, EndpointStatus, WebhookAttempt, WebhookEndpoint
from .settings import SubscriptionSettings

log = logging.getLogger(__name__)
tracer = get_tracer(__name__)


def backoff_s(failures: int, *, base_s: float, max_s: float) -> float:
    """The wait after `failures` failures in a row: base * 2^(failures - 1), at most max_s, jittered to 50-100%."""
    return min(max_s, base_s * 2 ** min(failures - 1, 40)) * random.uniform(0.5, 1.0)


def matches(endpoint: WebhookEndpoint, change: Change) -> bool:
    return (not endpoint.programmes or change.programme in endpoint.programmes) and \
        (not endpoint.shelter_ids or change.shelter_id in endpoint.shelter_ids)


def signed_headers(endpoint: WebhookEndpoint, *, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """Standard Webhooks headers; during a rotation the signature header carries both secrets' signatures."""
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > at:
        secrets.append(endpoint.previous_secret)
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json"}


class DeliveryWorker:
    """Finds endpoints with something to deliver and serves each in a task of its own."""

    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], settings: SubscriptionSettings,
                 feed: CapacityFeed, http: httpx.AsyncClient) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.feed = feed
        self.http = http
        self._serving: dict[UUID, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.delivered = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    async def stop(self) -> None:
        """Claim nothing more; let each endpoint being served finish the attempt in flight and record what went out
        (cancelled between a receiver's answer and its record, a change would go out twice), within the drain
        time; cancel what is left after it."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
        serving = list(self._serving.values())
        if serving:
            await asyncio.wait(serving, timeout=self.settings.shutdown_drain_s)
        tasks = [t for t in (self._task, *serving) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if not self._serving:
            return
        # Let another replica take over at once; with the database away the leases simply run out.
        with contextlib.suppress(OSError, DBAPIError):
            async with self.sessionmaker() as session, session.begin():
                await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id.in_(list(self._serving)))
                                      .values(lease_until=None))

    async def _run(self) -> None:
        seen = self.feed.last_position
        while True:
            try:
                for endpoint_id in await self._claim():
                    self._serving[endpoint_id] = asyncio.create_task(self._serve(endpoint_id))
            except Exception as exc:  # an outage: try again next round
                log.warning("webhook endpoints not claimed: %s", type(exc).__name__)
            await self.feed.wait_beyond(seen, self.settings.webhook_poll_interval_s)
            seen = self.feed.last_position

    async def _claim(self) -> list[UUID]:
        room = self.settings.webhook_concurrency - len(self._serving)
        if room <= 0:
            return []
        now = func.now()
        due = (select(WebhookEndpoint.id)
               .where(WebhookEndpoint.status == EndpointStatus.active,
                      WebhookEndpoint.id.not_in(list(self._serving)) if self._serving else True,
                      (WebhookEndpoint.lease_until.is_(None)) | (WebhookEndpoint.lease_until < now),
                      (WebhookEndpoint.next_attempt_at.is_(None)) | (WebhookEndpoint.next_attempt_at <= now),
                      WebhookEndpoint.cursor < select(func.coalesce(func.max(CapacityChange.position), 0))
                      .scalar_subquery())
               .order_by(WebhookEndpoint.next_attempt_at.nulls_first()).limit(room)
               .with_for_update(skip_locked=True))
        async with self.sessionmaker() as session, session.begin():
            return list(await session.scalars(
                update(WebhookEndpoint).where(WebhookEndpoint.id.in_(due.scalar_subquery()))
                .values(lease_until=now + timedelta(seconds=self.settings.webhook_lease_s))
                .returning(WebhookEndpoint.id)))

    async def _serve(self, endpoint_id: UUID) -> None:
        try:
            while not self._stopping.is_set():
                async with self.sessionmaker() as session:
                    endpoint = await session.get(WebhookEndpoint, endpoint_id)
                if endpoint is None or endpoint.status != EndpointStatus.active:
                    return
                changes = await self.feed.changes_after(endpoint.cursor, limit=200)
                if not changes or not await self._deliver_in_order(endpoint, changes):
                    return
        except Exception as exc:
            log.warning("webhook endpoint %s not served: %s", endpoint_id, type(exc).__name__)
        finally:
            self._serving.pop(endpoint_id, None)
            with contextlib.suppress(Exception):
                async with self.sessionmaker() as session, session.begin():
                    await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
                                          .values(lease_until=None))

    async def _deliver_in_order(self, endpoint: WebhookEndpoint, changes: Sequence[Change]) -> bool:
        """Deliver the changes one after the other until one fails; then record the attempts and move the cursor
        in one transaction (a crash in between means those changes go out again: at least once). True when all
        went out."""
        attempts: list[dict[str, object]] = []
        cursor = endpoint.cursor
        for change in changes:
            if self._stopping.is_set():
                break  # stopping: record what went out so far
            if matches(endpoint, change):
                status_code, error, latency_ms = await self._post(endpoint, change)
                delivered = status_code is not None and 200 <= status_code < 300
                attempts.append({"endpoint_id": endpoint.id, "position": change.position,
                                 "message_id": change.event_id, "status_code": status_code,
                                 "latency_ms": latency_ms, "error": error, "delivered": delivered})
                if not delivered:
                    break
                self.delivered += 1
            cursor = change.position
        last_failed = bool(attempts) and not attempts[-1]["delivered"]
        async with self.sessionmaker() as session, session.begin():
            if attempts:
                await session.execute(insert(WebhookAttempt), attempts)
            values: dict[str, object] = {"cursor": cursor}
            if last_failed:
                values.update(self._failure(endpoint, gone=attempts[-1]["status_code"] == 410,
                                            after_success=len(attempts) > 1))
            elif attempts:
                values.update(failures=0, next_attempt_at=None)
            await session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id).values(**values))
        return not last_failed

    async def _post(self, endpoint: WebhookEndpoint, change: Change) -> tuple[int | None, str | None, int]:
        """One attempt: (status code, error, latency in ms), in a span of the change's trace."""
        status_code, error = None, None
        with tracer.start_as_current_span("webhook deliver", context=context_from_traceparent(change.traceparent),
                                          kind=SpanKind.PRODUCER, attributes={
                                              "webhook.endpoint_id": str(endpoint.id),
                                              "webhook.message_id": change.event_id,
                                              "messaging.destination.name": ShelterCapacityChanged.topic}) as span:
            started = time.perf_counter()
            try:
                # webhook-id is the event id, the same on every retry: receivers deduplicate on it.
                headers = signed_headers(endpoint, message_id=change.event_id, body=change.webhook_body,
                                         at=datetime.now(UTC))
                answer = await self.http.post(endpoint.url, content=change.webhook_body.encode(), headers=headers)
                status_code = answer.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:300] if isinstance(exc, httpx.ConnectError) \
                    else type(exc).__name__
            latency_ms = int((time.perf_counter() - started) * 1000)
            if status_code is not None:
                span.set_attribute("http.response.status_code", status_code)
            if status_code is None or not 200 <= status_code < 300:
                span.set_status(Status(StatusCode.ERROR, error or f"answered {status_code}"))
        return status_code, error, latency_ms

    def _failure(self, endpoint: WebhookEndpoint, *, gone: bool, after_success: bool) -> dict[str, object]:
        """The endpoint's state after a failed attempt: the next try backed off, or disabled with the reason."""
        failures = 1 if after_success else endpoint.failures + 1
        values: dict[str, object] = {"failures": failures, "next_attempt_at": datetime.now(UTC) + timedelta(
            seconds=backoff_s(failures, base_s=self.settings.webhook_backoff_base_s,
                              max_s=self.settings.webhook_backoff_max_s))}
        if gone:
            values.update(status=EndpointStatus.disabled, disabled_reason="the endpoint answered 410 Gone")
        elif failures >= self.settings.webhook_max_failures:
            values.update(status=EndpointStatus.disabled,
                          disabled_reason=f"{failures} delivery attempts in a row failed")
        return values
