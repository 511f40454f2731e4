"""Dead letters: what a consumer could not apply, on `<topic>.dlq`, listed and replayed by an operator.

A dead letter is the original record (value and key unchanged, its headers kept) plus `dlq.*` headers saying
which error (type and a safe description: fields, never values), which event, and where it was read. Replaying
sends the original record back to its topic and appends a marker (a record without value, `dlq.replay_of`
naming the dead letter's partition:offset) to the DLQ, so the same dead letter is not replayed twice; consumers
deduplicate on the event id anyway.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from .failures import safe_description, sqlstate_of
from .kafka import dlq_topic

PREFIX = "dlq."
REPLAY_OF = "dlq.replay_of"


def dead_letter_headers(record: ConsumerRecord, error: BaseException, *, group_id: str,
                        event_id: str | None, event_type: str | None) -> list[tuple[str, bytes]]:
    """The record's own headers (earlier dlq.* dropped) plus where it failed and why, without payload values."""
    kept = [(key, value) for key, value in record.headers or () if not key.startswith(PREFIX)]
    facts = {
        "dlq.error_type": type(error).__name__,
        "dlq.error": safe_description(error),
        "dlq.sqlstate": sqlstate_of(error),
        "dlq.event_id": event_id,
        "dlq.event_type": event_type,
        "dlq.topic": record.topic,
        "dlq.partition": str(record.partition),
        "dlq.offset": str(record.offset),
        "dlq.consumer_group": group_id,
    }
    return kept + [(key, value.encode()) for key, value in facts.items() if value is not None]


@dataclass(frozen=True)
class DeadLetter:
    """One record on a DLQ, as an operator sees it."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    replayed: bool = False

    def header(self, name: str) -> str | None:
        value = dict(self.headers).get(name)
        return value.decode(errors="replace") if value is not None else None

    @property
    def ref(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def event_id(self) -> str | None:
        if (known := self.header("dlq.event_id") or self.header("ce_id")) is not None:
            return known
        try:
            found = json.loads(self.value or b"").get("id")
        except (ValueError, AttributeError):
            return None
        return found if isinstance(found, str) else None

    @property
    def original_topic(self) -> str | None:
        return self.header("dlq.topic")

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(key, value) for key, value in self.headers if not key.startswith(PREFIX)]


def _as_dlq(topic: str) -> str:
    return topic if topic.endswith(".dlq") else dlq_topic(topic)


async def read_dead_letters(bootstrap_servers: str, topic: str, **client: object) -> list[DeadLetter]:
    """Every dead letter on `topic`'s DLQ (the topic or its .dlq may be named), marked when already replayed."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False,
                                **client)  # type: ignore[arg-type]
    await consumer.start()
    try:
        name = _as_dlq(topic)
        await consumer.topics()  # fetches the cluster's metadata, which partitions_for_topic reads
        partitions = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(*partitions, timeout_ms=1000)
            records.extend(r for tp, rs in batch.items() for r in rs if r.offset < ends[tp])
    finally:
        await consumer.stop()
    replayed = {dict(r.headers or ()).get(REPLAY_OF, b"").decode() for r in records}
    return [DeadLetter(partition=r.partition, offset=r.offset, key=r.key, value=r.value, headers=list(r.headers or ()),
                       replayed=f"{r.partition}:{r.offset}" in replayed)
            for r in sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset))
            if not any(key == REPLAY_OF for key, _ in r.headers or ())]


@dataclass(frozen=True)
class ReplayReport:
    replayed: list[DeadLetter]
    skipped: list[DeadLetter]


async def replay_dead_letters(bootstrap_servers: str, topic: str, *, event_ids: Iterable[str] = (),
                              every: bool = False, again: bool = False, **client: object) -> ReplayReport:
    """Send the chosen dead letters (by event id, or `every` one) back to their topic; those already replayed
    are skipped unless `again`."""
    wanted = set(event_ids)
    if not wanted and not every:
        raise ValueError("name the event ids to replay, or replay every dead letter")
    chosen = [d for d in await read_dead_letters(bootstrap_servers, topic, **client)
              if every or d.event_id in wanted]
    skipped = [d for d in chosen if d.replayed and not again]
    todo = [d for d in chosen if not (d.replayed and not again)]
    if todo:
        await _send_back(bootstrap_servers, _as_dlq(topic), todo, **client)
    return ReplayReport(replayed=todo, skipped=skipped)


async def _send_back(bootstrap_servers: str, dlq: str, letters: Sequence[DeadLetter], **client: object) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", **client)  # type: ignore[arg-type]
    await producer.start()
    try:
        for letter in letters:
            original = letter.original_topic or dlq.removesuffix(".dlq")
            await producer.send_and_wait(original, value=letter.value, key=letter.key,
                                         headers=letter.original_headers())
            await producer.send_and_wait(dlq, value=None, key=letter.key, headers=[
                (REPLAY_OF, letter.ref.encode()), ("dlq.event_id", (letter.event_id or "").encode())])
    finally:
        await producer.stop()
