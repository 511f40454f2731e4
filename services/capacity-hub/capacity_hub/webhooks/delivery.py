"""Webhook delivery: at least once, in log order per endpoint, with exponential back-off and jitter.

The `webhook-delivery` job's run never returns: it takes on endpoints by lease (hub replicas share the work) and
serves each in a long-lived task of a task group it owns (cancelling the job cancels them): one attempt in flight per
endpoint (order), as many endpoints at once as it holds (a slow or dead endpoint only holds up itself). A task wakes
when the capacity log grows (the feed), not on a timer. Delivered attempts and cursor moves are recorded together,
for every endpoint at once, a moment later (`webhook_record_interval_s`): a crash in between sends those changes
again with the same `webhook-id` (at least once); a stop lets the attempts in flight finish and records them first.
A failure is recorded at once; 410 Gone, or too many failures in a row, disables the endpoint with the reason.

What an NGO changes (pause, resume, replay, disable, a new secret) bumps the endpoint's `revision`; the serving
process sees it when it renews its leases and reloads the endpoint. A replay also bumps `replays`, so a cursor
recorded from before the replay is never written over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yarl import URL

from verbinding_common import sealing
from verbinding_common.jobs import Job, JobContext

from ..changes.feed import WORKER_RESTART_S, CapacityFeed, Change
from ..metrics import count_attempts, count_disablement
from ..settings import CapacityHubSettings
from .models import EndpointStatus, WebhookAttempt, WebhookEndpoint
from .service import Secrets, open_secrets
from .signing import signed_headers
from .targets import SendFailed, WebhookSender
from .tracing import DeliverySpans

log = logging.getLogger(__name__)
ENDPOINTS = WebhookEndpoint.__table__
# A stopping hub's attempts in flight may take this share of the drain; the rest records them and gives leases back.
IN_FLIGHT_SHARE_OF_DRAIN = 0.8


def backoff_s(failures: int, *, base_s: float, max_s: float) -> float:
    """The wait after `failures` failures in a row: base * 2^(failures - 1), at most max_s, jittered to 50-100%."""
    return min(max_s, base_s * 2 ** min(failures - 1, 40)) * random.uniform(0.5, 1.0)


@dataclass
class Served:
    """An endpoint this process delivers to, as far as it got."""

    id: UUID
    url: str = ""
    programmes: frozenset[str] = frozenset()
    shelter_ids: frozenset[UUID] = frozenset()
    secrets: Secrets = field(default_factory=lambda: Secrets(current=""))
    cursor: int = 0
    failures: int = 0
    next_attempt_at: datetime | None = None
    revision: int = 0
    replays: int = 0
    reload: bool = False
    stop: bool = False
    # A client of its own with one connection: one attempt in flight needs one, and a slow endpoint holds up no other.
    sender: WebhookSender | None = None
    target: URL | None = None

    def matches(self, change: Change) -> bool:
        return (not self.programmes or change.programme in self.programmes) and \
            (not self.shelter_ids or change.shelter_id in self.shelter_ids)

    def take(self, endpoint: WebhookEndpoint, keyring: sealing.Keyring) -> None:
        """Take the endpoint's row in: after a replay its cursor, else whichever of the two got further."""
        self.cursor = endpoint.cursor if endpoint.replays != self.replays else max(self.cursor, endpoint.cursor)
        if self.target is None or endpoint.url != self.url:
            self.target = URL(endpoint.url)  # parsed once for every attempt
        self.url, self.revision, self.replays = endpoint.url, endpoint.revision, endpoint.replays
        self.programmes, self.shelter_ids = frozenset(endpoint.programmes), frozenset(endpoint.shelter_ids)
        self.secrets = open_secrets(keyring, endpoint)
        self.failures, self.next_attempt_at = endpoint.failures, endpoint.next_attempt_at
        self.stop = self.stop or endpoint.status != EndpointStatus.active


def webhook_delivery(settings: CapacityHubSettings) -> Job:
    """Webhooks go out for as long as the hub runs: a worker of this process's own (a new lease owner each start)."""

    async def deliver(context: JobContext) -> None:
        await DeliveryWorker(sessionmaker=context.sessionmaker, settings=settings,
                             feed=context.state.capacity_feed, keyring=context.state.webhook_keyring).run()

    return Job(name="webhook-delivery", run=deliver, interval_s=WORKER_RESTART_S)


class DeliveryWorker:
    """Takes on endpoints by lease and serves each in a task of its own; run() is its whole life."""

    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], settings: CapacityHubSettings,
                 feed: CapacityFeed, keyring: sealing.Keyring) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.feed = feed
        self._ssl = httpx.create_ssl_context()  # one TLS context (the CA bundle loaded once) for every endpoint
        self._check_addresses = not settings.insecure_webhook_targets
        self.keyring = keyring
        self.owner = uuid4()
        self.served: dict[UUID, Served] = {}
        self.delivered = 0
        self._counted = 0  # of the delivered, those counted in the metrics
        self._attempts: list[dict[str, Any]] = []
        self._cursors: dict[UUID, dict[str, Any]] = {}
        self._in_flight: set[asyncio.Task[bool]] = set()
        self._stopping = False
        self._writing = asyncio.Lock()  # one write to held endpoints at a time: cursors land in the order they moved
        self._renewed = time.monotonic()
        self.spans = DeliverySpans()

    async def run(self) -> None:
        """Serve endpoints until cancelled; then let the attempts in flight finish within most of the drain (cut between
        an answer and its record, a change would go out twice), record what went out and give the leases back."""
        try:
            async with asyncio.TaskGroup() as serving:
                serving.create_task(self._recording(), name="webhook-records")
                try:
                    await self._claiming(serving)
                finally:  # before the group cancels the endpoints' tasks: they leave all to the stop below
                    self._stopping = True
        finally:
            await self._stop()

    async def _stop(self) -> None:
        if in_flight := set(self._in_flight):
            _, late = await asyncio.wait(in_flight, timeout=self.settings.shutdown_drain_s * IN_FLIGHT_SHARE_OF_DRAIN)
            for attempt in late:
                attempt.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
        with contextlib.suppress(OSError, DBAPIError):  # the database away: the leases simply run out
            await self._let_go(self.served.values(), every_lease=True)

    async def _let_go(self, endpoints: Iterable[Served], *, every_lease: bool = False) -> None:
        """Close the endpoints' connections, record what went out and give their leases back (or every one held)."""
        ids = []
        for served in endpoints:
            ids.append(served.id)
            if served.sender is not None:
                with contextlib.suppress(Exception):
                    await served.sender.aclose()
        await self._flush()
        async with self.sessionmaker() as session, session.begin():
            await session.execute(update(WebhookEndpoint).where(
                WebhookEndpoint.lease_owner == self.owner, True if every_lease else WebhookEndpoint.id.in_(ids))
                .values(lease_owner=None, lease_until=None))

    # Leases ---------------------------------------------------------------------------------------------------

    async def _claiming(self, serving: asyncio.TaskGroup) -> None:
        while True:
            try:
                await self._renew()
                await self._claim(serving)
            except Exception as exc:  # an outage: try again next round
                log.warning("webhook leases not renewed: %s", type(exc).__name__)
                if time.monotonic() - self._renewed > self.settings.webhook_lease_s / 2:
                    for served in self.served.values():  # another replica may take them over soon
                        served.stop = True
            await asyncio.sleep(self.settings.webhook_claim_interval_s)

    async def _renew(self) -> None:
        """Extend the leases held; an endpoint whose revision moved is reloaded, one no longer held is left."""
        if not self.served:
            self._renewed = time.monotonic()
            return
        # Under the write lock: the recorder updates the same rows, and two transactions locking them in different
        # orders would deadlock.
        async with self._writing, self.sessionmaker() as session, session.begin():
            held = dict((await session.execute(update(WebhookEndpoint).where(
                WebhookEndpoint.lease_owner == self.owner, WebhookEndpoint.id.in_(list(self.served)))
                .values(lease_until=func.now() + timedelta(seconds=self.settings.webhook_lease_s))
                .returning(WebhookEndpoint.id, WebhookEndpoint.revision))).all())
        self._renewed = time.monotonic()
        for endpoint_id, served in self.served.items():
            if endpoint_id not in held:
                served.stop = True
            elif held[endpoint_id] != served.revision:
                served.reload = True

    async def _claim(self, serving: asyncio.TaskGroup) -> None:
        room = self.settings.webhook_max_endpoints - len(self.served)
        if room <= 0:
            return
        now = func.now()
        free = (select(WebhookEndpoint.id)
                .where(WebhookEndpoint.status == EndpointStatus.active,
                       WebhookEndpoint.id.not_in(list(self.served)) if self.served else True,
                       (WebhookEndpoint.lease_until.is_(None)) | (WebhookEndpoint.lease_until < now))
                .limit(room).with_for_update(skip_locked=True))
        async with self.sessionmaker() as session, session.begin():
            claimed = list(await session.scalars(
                update(WebhookEndpoint).where(WebhookEndpoint.id.in_(free.scalar_subquery()))
                .values(lease_owner=self.owner, lease_until=now + timedelta(seconds=self.settings.webhook_lease_s))
                .returning(WebhookEndpoint)))
        for endpoint in claimed:
            served = Served(id=endpoint.id, replays=endpoint.replays)
            try:
                served.take(endpoint, self.keyring)
            except sealing.SealBroken:
                log.error("webhook endpoint %s: its secret does not open (a missing key id?)", endpoint.id)
                continue
            served.sender = WebhookSender(check_addresses=self._check_addresses, ssl_context=self._ssl,
                                          timeout_s=self.settings.webhook_timeout_s)
            self.served[endpoint.id] = served
            serving.create_task(self._serve(served), name=f"webhook-{endpoint.id}")

    # Serving one endpoint ----------------------------------------------------------------------------------------

    async def _serve(self, served: Served) -> None:
        try:
            while not (self._stopping or served.stop):
                if served.reload:
                    await self._reload(served)
                    continue
                if served.next_attempt_at is not None:
                    wait = (served.next_attempt_at - datetime.now(UTC)).total_seconds()
                    if wait > 0:
                        await asyncio.sleep(min(wait, self.settings.webhook_claim_interval_s))
                        continue
                changes = await self.feed.changes_after(served.cursor, limit=500)
                if not changes:
                    await self.feed.wait_beyond(served.cursor, self.settings.webhook_claim_interval_s)
                    continue
                await self._deliver_in_order(served, changes)
        except Exception as exc:
            log.warning("webhook endpoint %s not served: %s", served.id, type(exc).__name__)
        finally:
            if not self._stopping:  # stopping: the run's stop closes the connection once the attempt in flight ends
                self.served.pop(served.id, None)
                with contextlib.suppress(Exception):
                    await self._let_go([served])

    async def _reload(self, served: Served) -> None:
        served.reload = False
        await self._flush()
        async with self.sessionmaker() as session:
            endpoint = await session.get(WebhookEndpoint, served.id)
        if endpoint is None:
            served.stop = True
            return
        served.take(endpoint, self.keyring)

    async def _deliver_in_order(self, served: Served, changes: Sequence[Change]) -> None:
        """Deliver the changes one after the other until one fails or the endpoint must be reloaded."""
        for change in changes:
            if self._stopping or served.stop or served.reload:
                return
            if not served.matches(change):
                self._moved(served, change.position)
                continue
            # Shielded: a stopping hub cancels this task, and the attempt goes on to its answer and its record.
            if not await asyncio.shield(self._attempt(served, change)):
                return

    async def _attempt(self, served: Served, change: Change) -> bool:
        """Post the change; gather a delivery for the next record, record a failure at once; whether delivered."""
        current = asyncio.current_task()
        assert current is not None
        self._in_flight.add(current)
        try:
            attempt = await self._post(served, change)
            if not attempt["delivered"]:
                count_attempts(1, delivered=False)
                await self._failed(served, attempt)
                return False
            self.delivered += 1
            served.failures, served.next_attempt_at = 0, None
            self._attempts.append(attempt)
            self._moved(served, change.position)
            return True
        finally:
            self._in_flight.discard(current)

    def _moved(self, served: Served, position: int) -> None:
        served.cursor = position
        self._cursors[served.id] = {"b_id": served.id, "b_replays": served.replays, "b_cursor": position}

    async def _post(self, served: Served, change: Change) -> dict[str, Any]:
        """One attempt, in the change's trace (`DeliverySpans`): the attempt's row."""
        status_code, error = None, None
        at = datetime.now(UTC)
        started_ns = time.time_ns()
        try:
            # webhook-id is the event id, the same on every retry: receivers deduplicate on it.
            headers = signed_headers(served.secrets.signing(at), message_id=change.event_id,
                                     body=change.webhook_body, at=at)
            assert served.sender is not None and served.target is not None
            status_code = await served.sender.post(served.target, headers, change.webhook_bytes)
        except SendFailed as exc:
            error = str(exc)
        ended_ns = time.time_ns()
        delivered = status_code is not None and 200 <= status_code < 300
        if delivered:
            self.spans.delivered(change, served.id, status_code, started_ns, ended_ns)
        else:
            self.spans.failed(change, served.id, status_code=status_code, error=error, start_ns=started_ns,
                              end_ns=ended_ns)
        return {"endpoint_id": served.id, "position": change.position, "message_id": change.event_id,
                "attempted_at": at, "status_code": status_code, "latency_ms": max(0, ended_ns - started_ns) // 10**6,
                "error": error, "delivered": delivered}

    async def _failed(self, served: Served, attempt: dict[str, Any]) -> None:
        """Record the failure at once, with what this endpoint delivered before it: the next try backed off, or the
        endpoint disabled with the reason."""
        served.failures += 1
        served.next_attempt_at = datetime.now(UTC) + timedelta(seconds=backoff_s(
            served.failures, base_s=self.settings.webhook_backoff_base_s, max_s=self.settings.webhook_backoff_max_s))
        values: dict[str, Any] = {"failures": served.failures, "next_attempt_at": served.next_attempt_at,
                                  "cursor": served.cursor}
        if attempt["status_code"] == 410:
            values.update(status=EndpointStatus.disabled, disabled_reason="the endpoint answered 410 Gone")
        elif served.failures >= self.settings.webhook_max_failures:
            values.update(status=EndpointStatus.disabled,
                          disabled_reason=f"{served.failures} delivery attempts in a row failed")
        count_disablement(values, gone=attempt["status_code"] == 410)
        async with self._writing:
            attempts = [a for a in self._attempts if a["endpoint_id"] == served.id] + [attempt]
            self._attempts = [a for a in self._attempts if a["endpoint_id"] != served.id]
            self._cursors.pop(served.id, None)
            async with self.sessionmaker() as session, session.begin():
                await _insert_attempts(session, attempts)
                await session.execute(update(WebhookEndpoint).where(
                    WebhookEndpoint.id == served.id, WebhookEndpoint.lease_owner == self.owner,
                    WebhookEndpoint.replays == served.replays).values(**values))
        if "status" in values:
            served.stop = True

    # Recording ----------------------------------------------------------------------------------------------------

    async def _recording(self) -> None:
        while True:
            await asyncio.sleep(self.settings.webhook_record_interval_s)
            try:
                await self._flush()
            except Exception as exc:  # kept for the next round
                log.warning("webhook deliveries not recorded: %s", type(exc).__name__)

    async def _flush(self) -> None:
        """Write the delivered attempts and cursor moves gathered so far, of every endpoint, in one transaction (and
        end their spans)."""
        self.spans.emit()
        count_attempts(self.delivered - self._counted, delivered=True)
        self._counted = self.delivered
        async with self._writing:
            await self._write()

    async def _write(self) -> None:
        attempts, cursors = self._attempts, list(self._cursors.values())
        if not attempts and not cursors:
            return
        self._attempts, self._cursors = [], {}
        try:
            async with self.sessionmaker() as session, session.begin():
                await _insert_attempts(session, attempts)
                if cursors:
                    await session.execute(ENDPOINTS.update().where(and_(ENDPOINTS.c.id == bindparam("b_id"),
                                                                        ENDPOINTS.c.lease_owner == self.owner,
                                                                        ENDPOINTS.c.replays == bindparam("b_replays")))
                        .values(cursor=bindparam("b_cursor"), failures=0, next_attempt_at=None), cursors)
        except BaseException:
            self._attempts = attempts + self._attempts
            for row in cursors:
                self._cursors.setdefault(row["b_id"], row)
            raise


async def _insert_attempts(session: AsyncSession, attempts: list[dict[str, Any]]) -> None:
    """Insert the attempts of endpoints that still exist: one deleted since its attempts were made takes them with it
    (its rows would cascade away), instead of failing every later record of every endpoint on the foreign key."""
    if not attempts:
        return
    ids = {attempt["endpoint_id"] for attempt in attempts}
    existing = set(await session.scalars(  # kept from a delete until the inserts commit
        select(ENDPOINTS.c.id).where(ENDPOINTS.c.id.in_(ids)).with_for_update(key_share=True)))
    if kept := [attempt for attempt in attempts if attempt["endpoint_id"] in existing]:
        await session.execute(insert(WebhookAttempt.__table__), kept)
