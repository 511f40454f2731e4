"""The idempotent consumer: each event's effects and its processed-id commit together; poison goes to the DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .db import processed_event_table
from .events import Envelope
from .kafka import dlq_topic, ensure_topics, new_admin, new_consumer, start_with_retry
from .settings import ServiceSettings
from .telemetry import context_from_headers, get_tracer, traceparent_of

log = logging.getLogger(__name__)
tracer = get_tracer(__name__)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]


@dataclass(frozen=True)
class BatchItem:
    """One new event of a fetch, with the traceparent of its own process span (for the events it causes)."""

    envelope: Envelope
    traceparent: str | None


BatchHandler = Callable[[AsyncSession, list[BatchItem]], Awaitable[None]]


class PoisonMessage(Exception):
    """The message can never be handled (it does not parse, or breaks its contract): dead-letter it now."""


@dataclass
class ConsumerSpec:
    """What a service consumes: topics, and the handler that applies one event inside a transaction.

    With a `batch_handler`, the new events of a fetch are applied by one call of it instead (in fetch order, in
    the fetch's transaction). `handler` stays required: when that transaction fails (a batch handler may raise
    PoisonMessage to make it fail), each event is applied by `handler` on its own, with retries and the DLQ.
    """

    topics: Sequence[str]
    handler: Handler
    group_id: str | None = None
    batch_handler: BatchHandler | None = None


@dataclass
class ConsumerStats:
    handled: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retries: int = 0


class _FinishBatchOnRevoke(ConsumerRebalanceListener):
    """Finish the batch in flight (and its offset commit) before partitions move (aiokafka docs/consumer.rst)."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._lock:
            pass

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        pass


class IdempotentConsumer:
    """Applies each event once per event id per consumer group (by `spec.handler`, or a whole fetch by
    `spec.batch_handler`), committing offsets only after the handler's transaction commits."""

    def __init__(self, *, spec: ConsumerSpec, sessionmaker: async_sessionmaker[AsyncSession],
                 settings: ServiceSettings, producer: AIOKafkaProducer) -> None:
        self.spec = spec
        self.group_id = spec.group_id or settings.service_name
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.producer = producer
        self.stats = ConsumerStats()
        self._consumer: AIOKafkaConsumer | None = None
        self._batch_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._drain_until: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        admin = new_admin(self.settings)
        await start_with_retry(admin)
        try:
            await ensure_topics(admin, [*self.spec.topics, *(dlq_topic(t) for t in self.spec.topics)])
        finally:
            await admin.close()
        self._consumer = new_consumer(self.settings, group_id=self.group_id)
        self._consumer.subscribe(list(self.spec.topics), listener=_FinishBatchOnRevoke(self._batch_lock))
        await start_with_retry(self._consumer)
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.group_id}")

    async def stop(self, *, drain_seconds: float = 0.0) -> None:
        """Stop after the batch in flight; with `drain_seconds`, first keep consuming until caught up."""
        if drain_seconds > 0:
            self._drain_until = time.monotonic() + drain_seconds
        else:
            self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        while not self._stopping.is_set():
            try:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=self.settings.consumer_batch_size)
            except KafkaError as exc:
                log.warning("consumer %s: fetch failed (%s), retrying", self.group_id, exc.__class__.__name__)
                await asyncio.sleep(0.5)
                continue
            if batches:
                async with self._batch_lock:
                    await self._process(batches)
            elif self._drain_until is not None and await self._caught_up():
                return
            if self._drain_until is not None and time.monotonic() > self._drain_until:
                log.warning("consumer %s: drain time is up with lag left", self.group_id)
                return

    async def _caught_up(self) -> bool:
        assert self._consumer is not None
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is None or await self._consumer.position(tp) < highwater:
                return False
        return True

    async def _process(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        assert self._consumer is not None
        records = [record for partition in batches.values() for record in partition]
        try:
            await self._apply_batch(records)
        except Exception as exc:
            log.info("consumer %s: batch of %d failed (%r), handling its events one by one", self.group_id,
                     len(records), exc)
            for record in records:
                await self._handle_record(record)
        offsets = {tp: partition[-1].offset + 1 for tp, partition in batches.items()}
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # The events are recorded as processed; whoever gets these partitions skips them as duplicates.
            log.warning("consumer %s: offset commit failed (%s)", self.group_id, exc.__class__.__name__)

    async def _handle_record(self, record: ConsumerRecord) -> None:
        with self._process_span(record) as span:
            error: BaseException | None = None
            try:
                envelope = Envelope.from_bytes(record.value or b"")
                span.set_attribute("messaging.message.id", envelope.id)
            except ValueError as exc:
                error = exc
            else:
                for attempt in range(1, self.settings.consumer_max_attempts + 1):
                    try:
                        await self._apply(envelope, record.topic)
                        return
                    except PoisonMessage as exc:
                        error = exc
                        break
                    except Exception as exc:
                        error = exc
                        self.stats.retries += 1
                        log.warning("consumer %s: event %s failed (attempt %d): %r", self.group_id,
                                    envelope.id, attempt, exc)
                        if attempt < self.settings.consumer_max_attempts:
                            await asyncio.sleep(self.settings.consumer_retry_backoff_s * attempt)
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, str(error)))
            await self._dead_letter(record, error)

    async def _apply_batch(self, records: list[ConsumerRecord]) -> None:
        """Every event of one fetch in a single transaction: one commit instead of one per event.

        Any failure (a message that does not parse, a handler that raises) rolls the whole batch back, and the
        caller then handles its events one by one, with retries and dead-lettering.
        """
        envelopes = [Envelope.from_bytes(record.value or b"") for record in records]
        async with self.sessionmaker() as session, session.begin():
            ids = list(dict.fromkeys(envelope.id for envelope in envelopes))
            topic_of = {envelope.id: record.topic for envelope, record in zip(envelopes, records, strict=True)}
            new = set(await session.scalars(
                pg_insert(processed_event_table)
                .values([{"consumer_group": self.group_id, "event_id": event_id, "topic": topic_of[event_id],
                          "outcome": "handled"} for event_id in ids])
                .on_conflict_do_nothing()
                .returning(processed_event_table.c.event_id)
            ))
            fresh = []
            for envelope, record in zip(envelopes, records, strict=True):
                if envelope.id in new:
                    new.discard(envelope.id)
                    fresh.append((envelope, record))
            if self.spec.batch_handler is not None:
                await self._apply_as_one(session, fresh)
            else:
                for envelope, record in fresh:
                    with self._process_span(record) as span:
                        span.set_attribute("messaging.message.id", envelope.id)
                        await self.spec.handler(session, envelope)
        self.stats.handled += len(fresh)
        self.stats.duplicates += len(records) - len(fresh)

    async def _apply_as_one(self, session: AsyncSession, fresh: list[tuple[Envelope, ConsumerRecord]]) -> None:
        """The new events of a fetch through one batch_handler call.

        Each event keeps a process span of its own, parented on its record's headers, so what it causes continues
        its producer's trace. The statements the events share cannot belong to one of those traces: they land
        under a batch span, to which every process span links.
        """
        assert self.spec.batch_handler is not None
        if not fresh:
            return
        topics = ", ".join(sorted({record.topic for _, record in fresh}))
        with tracer.start_as_current_span(f"{topics} process batch", attributes={
                "messaging.system": "kafka", "messaging.consumer.group.name": self.group_id,
                "messaging.batch.message_count": len(fresh)}) as batch_span:
            batch = [Link(batch_span.get_span_context())]
            spans: list[Span] = []
            items = []
            for envelope, record in fresh:
                span = tracer.start_span(
                    f"{record.topic} process", context=context_from_headers(record.headers), kind=SpanKind.CONSUMER,
                    attributes={**self._process_attributes(record), "messaging.message.id": envelope.id},
                    links=batch)
                spans.append(span)
                items.append(BatchItem(envelope=envelope, traceparent=traceparent_of(span)))
            try:
                await self.spec.batch_handler(session, items)
            except Exception as exc:
                for span in spans:
                    span.set_status(Status(StatusCode.ERROR, f"rolled back with its batch: {type(exc).__name__}"))
                raise
            finally:
                for span in spans:
                    span.end()

    def _process_span(self, record: ConsumerRecord):
        return tracer.start_as_current_span(
            f"{record.topic} process", context=context_from_headers(record.headers), kind=SpanKind.CONSUMER,
            attributes=self._process_attributes(record),
        )

    def _process_attributes(self, record: ConsumerRecord) -> dict[str, str | int]:
        return {"messaging.system": "kafka", "messaging.destination.name": record.topic,
                "messaging.consumer.group.name": self.group_id,
                "messaging.destination.partition.id": str(record.partition), "messaging.kafka.offset": record.offset}

    async def _apply(self, envelope: Envelope, topic: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            first_time = await session.scalar(
                pg_insert(processed_event_table)
                .values(consumer_group=self.group_id, event_id=envelope.id, topic=topic, outcome="handled")
                .on_conflict_do_nothing()
                .returning(processed_event_table.c.event_id)
            )
            if first_time is None:
                self.stats.duplicates += 1
                return
            await self.spec.handler(session, envelope)
        self.stats.handled += 1

    async def _dead_letter(self, record: ConsumerRecord, error: BaseException) -> None:
        """Publish the message unchanged to <topic>.dlq with the error in its headers, then move on."""
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()[:4000]
        headers = [
            *(record.headers or ()),
            ("dlq.error", detail.encode()),
            ("dlq.error_type", type(error).__name__.encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
            ("dlq.consumer_group", self.group_id.encode()),
        ]
        while True:
            try:
                await self.producer.send_and_wait(dlq_topic(record.topic), value=record.value, key=record.key,
                                                  headers=list(headers))
                break
            except KafkaError as exc:
                # Never drop a message: without the DLQ acknowledging it, the offset must not move past it.
                log.warning("consumer %s: DLQ publish failed (%s), retrying", self.group_id, exc)
                await asyncio.sleep(1.0)
        self.stats.dead_lettered += 1
        log.error("consumer %s: %s[%d]@%d dead-lettered: %s", self.group_id, record.topic, record.partition,
                  record.offset, detail)
