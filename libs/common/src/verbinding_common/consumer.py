"""The idempotent consumer: a fetch's effects and its processed ids commit together; outages are waited out,
only messages that can never be applied go to the DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

from .consumer_spec import BrokenEvent, ConsumedEvent, ConsumerSpec, ConsumerStats, Handler
from .db import processed_event_table
from .deadletter import dead_letter_headers
from .events import Envelope
from .failures import ContractViolation, PoisonMessage, is_permanent, outage_of, safe_description, validation_problems
from .kafka import dlq_topic, ensure_topics, new_admin, new_consumer, start_with_retry
from .metrics import backbone
from .outbox import Cause, applying
from .settings import ServiceSettings
from .spans import LightSpan, LightTracer
from .telemetry import context_from_headers, get_tracer, span_context_from_headers, traceparent_of

__all__ = ["BrokenEvent", "ConsumedEvent", "ConsumerSpec", "ContractViolation", "Handler", "IdempotentConsumer",
           "PoisonMessage"]

log = logging.getLogger(__name__)
tracer = get_tracer(__name__)
light_tracer = LightTracer(__name__)

OUTAGE_BACKOFF_MAX_S = 2.0

# The fetch's event ids in one statement of constant text: compiled and prepared once, whatever the fetch's size
# (a multi-row VALUES is compiled anew for every fetch, which cost more than the rest of the insert).
_RECORD_PROCESSED = text(f"""
    INSERT INTO {processed_event_table.name} (consumer_group, event_id, topic, outcome)
    SELECT :group, fetched.event_id, fetched.topic, 'handled'
    FROM unnest(CAST(:event_ids AS text[]), CAST(:topics AS text[])) AS fetched(event_id, topic)
    ON CONFLICT DO NOTHING
    RETURNING event_id
""")

class _Stopped(Exception):
    """The consumer was told to stop while waiting: leave the fetch uncommitted for whoever comes next."""


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
    """Applies each event once per event id per consumer group, committing offsets only after the handler's
    transaction commits (or the event is on the DLQ). While the database or broker is out, the fetch's
    partitions are paused and the same fetch is retried with back-off; `waiting_on` says what it waits for."""

    def __init__(self, *, spec: ConsumerSpec, sessionmaker: async_sessionmaker[AsyncSession],
                 settings: ServiceSettings, producer: AIOKafkaProducer) -> None:
        self.spec = spec
        self.group_id = spec.group_id or settings.service_name
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.producer = producer
        self.stats = ConsumerStats()
        self.waiting_on: str | None = None
        self._contracts = {contract.event_type: contract for contract in spec.events}
        self._consumer: AIOKafkaConsumer | None = None
        self._batch_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._drain_until: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        topics = self.spec.subscribed_topics()
        admin = new_admin(self.settings)
        await start_with_retry(admin)
        try:
            await ensure_topics(admin, [*topics, *map(dlq_topic, topics)], settings=self.settings)
        finally:
            await admin.close()
        self._consumer = new_consumer(self.settings, group_id=self.group_id)
        self._consumer.subscribe(topics, listener=_FinishBatchOnRevoke(self._batch_lock))
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
            try:
                await self._consumer.stop()
            except asyncio.CancelledError:
                # aiokafka's fetcher lets its own fetch task's cancellation out when the broker is gone.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
            except Exception:
                pass

    async def _run(self) -> None:
        assert self._consumer is not None
        while not self._stopping.is_set():
            try:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=self.settings.consumer_batch_size)
            except KafkaError as exc:
                self.waiting_on = "broker"
                log.warning("consumer %s: fetch failed (%s), retrying", self.group_id, exc.__class__.__name__)
                await asyncio.sleep(0.5)
                continue
            self.waiting_on = None
            if batches:
                async with self._batch_lock:
                    began = time.perf_counter()
                    try:
                        await self._process(batches)
                    except _Stopped:
                        return
                    self._measure(batches, time.perf_counter() - began)
            elif self._drain_until is not None and await self._caught_up():
                return
            if self._drain_until is not None and time.monotonic() > self._drain_until:
                log.warning("consumer %s: drain time is up with lag left", self.group_id)
                return

    def _measure(self, batches: dict[TopicPartition, list[ConsumerRecord]], seconds: float) -> None:
        """The fetch's duration, and per partition how far the group is behind what the broker holds."""
        assert self._consumer is not None
        backbone.consumer_batch_duration.record(seconds, {"consumer_group": self.group_id})
        for tp, partition in batches.items():
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                backbone.consumer_lag.set(max(highwater - partition[-1].offset - 1, 0), {
                    "consumer_group": self.group_id, "topic": tp.topic, "partition": str(tp.partition)})

    async def _caught_up(self) -> bool:
        assert self._consumer is not None
        try:
            for tp in self._consumer.assignment():
                highwater = self._consumer.highwater(tp)
                if highwater is None or await self._consumer.position(tp) < highwater:
                    return False
        except KafkaError:  # the broker is gone: nothing more to drain; the drain deadline ends the wait
            return False
        return True

    async def _process(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Apply a fetch (or dead-letter what never can be applied), then commit its offsets."""
        assert self._consumer is not None
        events: list[ConsumedEvent[Any] | BrokenEvent] = []
        for record in (record for partition in batches.values() for record in partition):
            envelope: Envelope | None = None
            try:
                envelope = Envelope.from_bytes(record.value or b"")
                event = self._typed(envelope, record)
            except ValidationError as exc:
                await self._dead_letter(record, ContractViolation(
                    f"not an event envelope: {validation_problems(exc)}"), envelope)
                continue
            except ContractViolation as exc:
                if envelope is not None and self.spec.on_broken is not None:
                    events.append(BrokenEvent(envelope=envelope, record=record, problems=str(exc)))
                else:
                    await self._dead_letter(record, exc, envelope)
                continue
            if event is not None:
                events.append(event)
        try:
            await self._apply_through_outages(events, list(batches))
        except _Stopped:
            raise
        except Exception as exc:
            log.info("consumer %s: batch of %d failed (%s), applying its events one by one", self.group_id,
                     len(events), safe_description(exc))
            for event in events:
                await self._apply_alone(event)
        offsets = {tp: partition[-1].offset + 1 for tp, partition in batches.items()}
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # The events are recorded as processed; whoever gets these partitions skips them as duplicates.
            log.warning("consumer %s: offset commit failed (%s)", self.group_id, exc.__class__.__name__)

    def _typed(self, envelope: Envelope, record: ConsumerRecord) -> ConsumedEvent[Any] | None:
        contract = self._contracts.get(envelope.type)
        if contract is None:
            return None
        try:
            data = contract.model_validate(envelope.data)
        except ValidationError as exc:
            raise ContractViolation(f"{envelope.type} breaks its contract: {validation_problems(exc)}") from None
        return ConsumedEvent(envelope=envelope, data=data, record=record)

    async def _apply_alone(self, event: ConsumedEvent[Any] | BrokenEvent) -> None:
        """One event on its own: retried a few times unless it can never succeed, then dead-lettered."""
        error: BaseException | None = None
        for attempt in range(1, self.settings.consumer_max_attempts + 1):
            try:
                await self._apply_through_outages([event], [_partition_of(event.record)])
                return
            except _Stopped:
                raise
            except Exception as exc:
                error = exc
                if is_permanent(exc):
                    break
                self.stats.retries += 1
                log.warning("consumer %s: event %s failed (attempt %d): %s", self.group_id, event.id, attempt,
                            safe_description(exc))
                if attempt < self.settings.consumer_max_attempts:
                    await self._sleep(self.settings.consumer_retry_backoff_s * attempt)
        assert error is not None
        await self._dead_letter(event.record, error, event.envelope)

    async def _apply_through_outages(self, events: list[ConsumedEvent[Any] | BrokenEvent],
                                     partitions: list[TopicPartition]) -> None:
        """Apply, retrying the same events for as long as the database or broker is out (no attempt counting)."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: outage_of(exc) is not None),
            wait=wait_exponential(multiplier=self.settings.consumer_retry_backoff_s, max=OUTAGE_BACKOFF_MAX_S),
            sleep=self._sleep, before_sleep=lambda state: self._wait_out(state, partitions), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    await self._apply(events)
        finally:
            if self.waiting_on is not None:
                self._set_paused(partitions, paused=False)
                if not self._stopping.is_set():
                    log.warning("consumer %s: its %s is back, carrying on", self.group_id, self.waiting_on)
                self.waiting_on = None

    def _wait_out(self, state: RetryCallState, partitions: list[TopicPartition]) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        where = outage_of(error) if error is not None else None
        self.stats.outage_waits += 1
        if where == "contention":
            # Another transaction got in the way: retried at once-ish, and no reason to say the service is not ready.
            log.info("consumer %s: %s, retrying the fetch", self.group_id, type(error).__name__)
            return
        if self.waiting_on is None:
            self._set_paused(partitions, paused=True)
            log.warning("consumer %s: waiting on its %s (%s); the fetch is held, nothing is dead-lettered",
                        self.group_id, where, type(error).__name__)
        self.waiting_on = where

    def _set_paused(self, partitions: list[TopicPartition], *, paused: bool) -> None:
        if self._consumer is None:
            return
        assigned = [tp for tp in partitions if tp in self._consumer.assignment()]
        if assigned:
            (self._consumer.pause if paused else self._consumer.resume)(*assigned)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, unless told to stop (or the drain time runs out): then give the fetch up uncommitted."""
        if self._drain_until is not None:
            seconds = min(seconds, max(0.0, self._drain_until - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        if self._stopping.is_set() or (self._drain_until is not None and time.monotonic() >= self._drain_until):
            raise _Stopped

    async def _apply(self, events: list[ConsumedEvent[Any] | BrokenEvent]) -> None:
        """One transaction: record the events' ids, and hand the new ones to the handler."""
        if not events:
            return
        async with self.sessionmaker() as session, session.begin():
            ids = list(dict.fromkeys(event.id for event in events))
            topic_of = {event.id: event.record.topic for event in events}
            new = set(await session.scalars(_RECORD_PROCESSED, {
                "group": self.group_id, "event_ids": ids, "topics": [topic_of[event_id] for event_id in ids]}))
            fresh = []
            for event in events:
                if event.id in new:
                    new.discard(event.id)
                    fresh.append(event)
            if fresh:
                await self._handle(session, fresh)
        self.stats.handled += len(fresh)
        self.stats.duplicates += len(events) - len(fresh)

    async def _handle(self, session: AsyncSession, fresh: list[ConsumedEvent[Any] | BrokenEvent]) -> None:
        """Run the handler with a process span per event, parented on its record's headers, so what it causes
        continues its producer's trace. One event's span is current while the handler runs; with several, the
        statements they share cannot belong to one trace and land under a batch span that each span links to."""
        if len(fresh) == 1:
            with self._process_span(fresh[0]) as span:
                await self._call_handler(session, fresh, [span])
            return
        topics = ", ".join(sorted({event.record.topic for event in fresh}))
        with tracer.start_as_current_span(f"{topics} process batch", attributes={
                "messaging.system": "kafka", "messaging.consumer.group.name": self.group_id,
                "messaging.batch.message_count": len(fresh)}) as batch_span:
            # Light spans (verbinding_common.spans): a span per event cost more than the rest of the consumer.
            links = (Link(batch_span.get_span_context()),)
            spans = [light_tracer.start(f"{event.record.topic} process", parent=span_context_from_headers(
                event.record.headers), kind=SpanKind.CONSUMER, attributes=self._attributes(event), links=links)
                for event in fresh]
            try:
                await self._call_handler(session, fresh, spans)
            finally:
                light_tracer.end(spans)

    async def _call_handler(self, session: AsyncSession, fresh: list[ConsumedEvent[Any] | BrokenEvent],
                            spans: list[Span] | list[LightSpan]) -> None:
        causes = [((event, event.envelope, *([event.data] if isinstance(event, ConsumedEvent) else [])),
                   Cause(event.id, traceparent_of(span))) for event, span in zip(fresh, spans, strict=True)]
        typed = [event for event in fresh if isinstance(event, ConsumedEvent)]
        broken = [event for event in fresh if isinstance(event, BrokenEvent)]
        try:
            with applying(causes):
                if typed:
                    await self.spec.handler(session, typed)
                if broken:
                    assert self.spec.on_broken is not None
                    await self.spec.on_broken(session, broken)
        except Exception as exc:
            for span in spans:
                span.set_status(Status(StatusCode.ERROR, safe_description(exc)))
            raise

    def _process_span(self, event: ConsumedEvent[Any] | BrokenEvent) -> contextlib.AbstractContextManager[Span]:
        return tracer.start_as_current_span(f"{event.record.topic} process", kind=SpanKind.CONSUMER,
                                            context=context_from_headers(event.record.headers),
                                            attributes=self._attributes(event))

    def _attributes(self, event: ConsumedEvent[Any] | BrokenEvent) -> dict[str, str | int]:
        record = event.record
        return {"messaging.system": "kafka", "messaging.destination.name": record.topic,
                "messaging.consumer.group.name": self.group_id, "messaging.message.id": event.id,
                "messaging.destination.partition.id": str(record.partition), "messaging.kafka.offset": record.offset}

    async def _dead_letter(self, record: ConsumerRecord, error: BaseException, envelope: Envelope | None) -> None:
        """Publish the record unchanged to <topic>.dlq, saying why in its headers (no values), then move on."""
        headers = dead_letter_headers(record, error, group_id=self.group_id,
                                      event_id=envelope.id if envelope else None,
                                      event_type=envelope.type if envelope else None)
        description = safe_description(error)
        with tracer.start_as_current_span(f"{record.topic} dead-letter", kind=SpanKind.PRODUCER,
                                          context=context_from_headers(record.headers),
                                          attributes={"messaging.system": "kafka",
                                                      "messaging.destination.name": dlq_topic(record.topic),
                                                      "error.type": type(error).__name__}) as span:
            span.set_status(Status(StatusCode.ERROR, description))
            while True:
                try:
                    await self.producer.send_and_wait(dlq_topic(record.topic), value=record.value, key=record.key,
                                                      headers=headers)
                    break
                except KafkaError as exc:
                    # Never drop a message: without the DLQ acknowledging it, the offset must not move past it.
                    self.waiting_on = "broker"
                    log.warning("consumer %s: DLQ publish failed (%s), retrying", self.group_id,
                                type(exc).__name__)
                    await self._sleep(1.0)
        self.waiting_on = None
        self.stats.dead_lettered += 1
        backbone.dead_letters.add(1, {"topic": record.topic, "consumer_group": self.group_id})
        log.error("consumer %s: %s[%d]@%d dead-lettered: %s", self.group_id, record.topic, record.partition,
                  record.offset, description)


def _partition_of(record: ConsumerRecord) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)
