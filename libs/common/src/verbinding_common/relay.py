"""The outbox relay: publishes committed outbox rows to Kafka in commit order, and again after a broker restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.producer.message_accumulator import BatchBuilder
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode
from sqlalchemy import Text, cast, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import outbox_table, relay_state_table
from .kafka import cluster_id, ensure_topics, key_partition, new_admin, new_producer, start_with_retry
from .metrics import backbone
from .outbox import OUTBOX_STAGED
from .settings import ServiceSettings
from .spans import LightSpan, LightTracer
from .telemetry import inject_headers, span_context_from_traceparent

log = logging.getLogger(__name__)
light_tracer = LightTracer(__name__)

# One batch at a time per database, whichever relay worker holds this transaction lock: batches are
# published in id order and committed before the next starts, so several workers never reorder a key. A worker
# that finds it held waits for it rather than sleeping a poll interval: the rows its own process committed meanwhile
# go out as soon as the other worker's batch is committed (two processes of a service took turns late before).
RELAY_LOCK = (0x0B0C, 1)

# The batch's ids as one array parameter, in a statement of constant text: compiled and prepared once. `id IN (...)`
# with an expanding parameter was compiled anew for every batch (a twentieth of the gateway's CPU under the
# recognitions benchmark).
_MARK_PUBLISHED = text(f"UPDATE {outbox_table.name} SET published_at = now() WHERE id = ANY(CAST(:ids AS bigint[]))")


_UNPARSED: Any = object()


@dataclass
class _PartitionBatch:
    """One record batch of a publish: rows of one partition, in id order."""

    topic: str
    partition: int
    builder: BatchBuilder
    future: asyncio.Future[Any] | None = None
    base_offset: int = 0
    error: BaseException | None = None


@dataclass
class RelayStats:
    published: int = 0
    batches: int = 0
    failures: int = 0
    republished: int = 0


class Relay:
    """Publishes unpublished outbox rows (`published_at IS NULL`) and retries whatever is left behind."""

    def __init__(self, *, engine: AsyncEngine, settings: ServiceSettings,
                 producer: AIOKafkaProducer | None = None, name: str = "relay") -> None:
        self.engine = engine
        self.settings = settings
        self.name = name
        self.stats = RelayStats()
        self._producer = producer
        self._owns_producer = producer is None
        self._admin: AIOKafkaAdminClient | None = None
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] = lambda: None
        self._known_topics: set[str] = set()
        self._epoch: str | None = None
        self._epoch_checked_at = 0.0

    @property
    def producer(self) -> AIOKafkaProducer:
        assert self._producer is not None, "relay not started"
        return self._producer

    async def start(self) -> None:
        if self._producer is None:
            self._producer = new_producer(self.settings)
        if self._owns_producer:
            await start_with_retry(self._producer)
        self._admin = new_admin(self.settings)
        await start_with_retry(self._admin)
        self._unsubscribe = OUTBOX_STAGED.subscribe(self.notify)
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.name}")

    async def stop(self) -> None:
        """Publish what is committed now (best effort), then stop."""
        self._stopping.set()
        self._wakeup.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._unsubscribe()
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await self._admin.close()
        if self._owns_producer and self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()

    async def broker_epoch(self) -> str:
        """The broker's cluster id, asked over the relay's own admin connection (readiness uses it)."""
        assert self._admin is not None, "relay not started"
        return await cluster_id(self._admin)

    def notify(self) -> None:
        """Wake the relay now (add_event's commits in this process do; other processes' rows are polled)."""
        self._wakeup.set()

    async def _run(self) -> None:
        backoff = self.settings.relay_poll_interval_s
        purged_at = 0.0
        while True:
            stopping = self._stopping.is_set()
            try:
                await self._check_broker_epoch()
                if time.monotonic() - purged_at > 600:
                    await self.purge_published()
                    purged_at = time.monotonic()
                published = await self.publish_once()
                backoff = self.settings.relay_poll_interval_s
            except Exception as exc:
                self.stats.failures += 1
                backbone.relay_publish_failures.add(1, {"relay": self.name})
                self._epoch_checked_at = 0.0
                log.warning("outbox relay %s: publish failed (%s); retrying in %.1fs", self.name,
                            exc.__class__.__name__, backoff)
                if stopping:
                    return
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if stopping and published == 0:
                return
            if published >= self.settings.relay_batch_size:
                continue
            if not stopping:
                await self._sleep(self.settings.relay_poll_interval_s)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)
            # Woken by a commit: let the commits right behind it join the same batch.
            await asyncio.sleep(self.settings.relay_coalesce_s)
        self._wakeup.clear()

    async def publish_once(self) -> int:
        """Publish one batch of unpublished rows in id order; return how many were published."""
        async with self.engine.connect() as conn, conn.begin():
            await conn.execute(select(func.pg_advisory_xact_lock(*RELAY_LOCK)))
            rows = (await conn.execute(
                # The envelope as PostgreSQL's text of it: published as it is, never decoded and encoded again.
                select(outbox_table.c.id, outbox_table.c.topic, outbox_table.c.key, outbox_table.c.event_id,
                       outbox_table.c.event_type, cast(outbox_table.c.envelope, Text).label("envelope"),
                       outbox_table.c.traceparent)
                .where(outbox_table.c.published_at.is_(None))
                .order_by(outbox_table.c.id)
                .limit(self.settings.relay_batch_size)
            )).all()
            if not rows:
                return 0
            await self._ensure_topics({row.topic for row in rows})
            published, error = await self._publish(rows)
            if published:
                await conn.execute(_MARK_PUBLISHED, {"ids": published})
            if error is not None:
                failed = rows[len(published)]
                await conn.execute(update(outbox_table).where(outbox_table.c.id == failed.id).values(
                    attempts=outbox_table.c.attempts + 1, last_error=repr(error)[:2000]))
        self.stats.published += len(published)
        self.stats.batches += 1
        if error is not None:
            raise error
        return len(published)

    async def _publish(self, rows: list[Any]) -> tuple[list[int], BaseException | None]:
        """Send the rows as one record batch per partition (in id order within it), then wait for the batches'
        acknowledgements; the rows before the first one whose batch failed are published.

        Rows after a failed one are not marked published even if the broker took them: they go again (consumers
        skip duplicates). In that rare case a later event of a key can reach consumers before the retried earlier
        one; with acks=all on one connection per partition the later batches fail with it in practice.
        One `send` per row cost a future, an accumulator lookup and a partitioner call each: half the relay's time.
        """
        partition_counts = {topic: len(await self.producer.partitions_for(topic)) for topic in {r.topic for r in rows}}
        open_batches: dict[tuple[str, int], _PartitionBatch] = {}
        batches: list[_PartitionBatch] = []
        placed: list[tuple[Any, LightSpan, _PartitionBatch, int]] = []
        # Parsed once per traceparent: the rows one request or one fetch staged share theirs (a push's 500 rows).
        parents: dict[str | None, SpanContext | None] = {}
        for row in rows:
            if (parent := parents.get(row.traceparent, _UNPARSED)) is _UNPARSED:
                parent = parents[row.traceparent] = span_context_from_traceparent(row.traceparent)
            # No message key on the span: keys are aggregate ids, and the gateway's are COA numbers.
            # A light span (verbinding_common.spans): an SDK span per row cost as much as sending the row.
            span = light_tracer.start(
                f"{row.topic} publish", parent=parent, kind=SpanKind.PRODUCER,
                attributes={"messaging.system": "kafka", "messaging.destination.name": row.topic,
                            "messaging.message.id": row.event_id, "verbinding.event_type": row.event_type},
            )
            headers = inject_headers([("ce_id", row.event_id.encode()), ("ce_type", row.event_type.encode())], span)
            key, value = row.key.encode(), row.envelope.encode()
            partition = key_partition(key, partition_counts[row.topic])
            batch = open_batches.get((row.topic, partition))
            appended = batch.builder.append(timestamp=None, key=key, value=value, headers=headers) if batch else None
            if appended is None:  # no batch for this partition yet, or it is full: the next one follows it
                batch = _PartitionBatch(row.topic, partition, self.producer.create_batch())
                open_batches[(row.topic, partition)] = batch
                batches.append(batch)
                appended = batch.builder.append(timestamp=None, key=key, value=value, headers=headers)
            placed.append((row, span, batch, appended.offset))

        for batch in batches:  # in order of their first rows: a partition's batches in id order
            try:
                batch.future = await self.producer.send_batch(batch.builder, batch.topic, partition=batch.partition)
            except Exception as exc:
                batch.future = asyncio.get_running_loop().create_future()
                batch.future.set_exception(exc)
        for batch in batches:
            try:
                batch.base_offset = (await batch.future).offset
            except Exception as exc:
                batch.error = exc

        published: list[int] = []
        error: BaseException | None = None
        for row, span, batch, relative_offset in placed:
            if batch.error is not None:
                error = error or batch.error
                span.record_exception(batch.error)
                span.set_status(Status(StatusCode.ERROR, str(batch.error)))
                continue
            span.set_attribute("messaging.destination.partition.id", str(batch.partition))
            span.set_attribute("messaging.kafka.offset", batch.base_offset + relative_offset)
            if error is None:
                published.append(row.id)
        light_tracer.end(span for _, span, _, _ in placed)
        return published, error

    async def _ensure_topics(self, topics: set[str]) -> None:
        missing = topics - self._known_topics
        if missing:
            assert self._admin is not None
            await ensure_topics(self._admin, missing, settings=self.settings)
            self._known_topics |= missing

    async def _check_broker_epoch(self) -> None:
        """After a broker restart (memory storage: empty topics) publish again what consumers may not have seen."""
        if time.monotonic() - self._epoch_checked_at < self.settings.relay_epoch_check_interval_s:
            return
        assert self._admin is not None
        epoch = await cluster_id(self._admin)
        self._epoch_checked_at = time.monotonic()
        if epoch == self._epoch:
            return
        async with self.engine.begin() as conn:
            republished = await self._record_epoch(conn, epoch)
        if republished:
            self.stats.republished += republished
            log.warning("outbox relay %s: broker %s is new; publishing %d retained events again",
                        self.name, epoch, republished)
        self._epoch = epoch
        self._known_topics.clear()

    async def _record_epoch(self, conn: AsyncConnection, epoch: str) -> int:
        stored = (await conn.execute(
            select(relay_state_table.c.broker_epoch).where(relay_state_table.c.name == self.name)
            .with_for_update()
        )).scalar_one_or_none()
        if stored == epoch:
            return 0
        await conn.execute(
            pg_insert(relay_state_table).values(name=self.name, broker_epoch=epoch)
            .on_conflict_do_update(index_elements=[relay_state_table.c.name],
                                   set_={"broker_epoch": epoch, "updated_at": func.now()})
        )
        result = await conn.execute(
            update(outbox_table)
            .where(outbox_table.c.published_at.is_not(None), outbox_table.c.created_at > self._retention_start())
            .values(published_at=None)
        )
        return result.rowcount or 0

    def _retention_start(self) -> Any:
        return func.now() - func.make_interval(0, 0, 0, 0, self.settings.outbox_retention_hours)

    async def purge_published(self) -> int:
        """Delete published rows older than the retention period."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(outbox_table).where(outbox_table.c.published_at.is_not(None),
                                           outbox_table.c.created_at <= self._retention_start()))
        return result.rowcount or 0
