"""The relay publishes a batch of rows as record batches per partition: where each row lands, in what order, and
what its publish span says."""

from __future__ import annotations

import json
import os

from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from conftest import Backbone
from verbinding_common.kafka import key_partition, murmur2, new_producer, start_with_retry
from verbinding_common.relay import Relay


def test_murmur2_is_aiokafkas_for_every_length_and_the_partition_its_default_partitioners() -> None:
    for length in range(0, 70):
        for _ in range(50):
            data = os.urandom(length)
            assert murmur2(data) == aiokafka_murmur2(data), data
            assert key_partition(data, 3) == DefaultPartitioner()(data, [0, 1, 2], [0, 1, 2]), data


async def _records(backbone: Backbone, count: int) -> list:
    reader = AIOKafkaConsumer(backbone.topic, bootstrap_servers=backbone.settings.kafka_bootstrap_servers,
                              group_id=None, auto_offset_reset="earliest", enable_auto_commit=False)
    await reader.start()
    found: list = []
    try:
        while len(found) < count:
            batches = await reader.getmany(timeout_ms=2000)
            if not batches:
                break
            found.extend(record for partition in batches.values() for record in partition)
    finally:
        await reader.stop()
    return found


async def test_one_publish_puts_each_key_on_its_partition_in_id_order_across_several_batches_per_partition(
        backbone: Backbone, spans: InMemorySpanExporter) -> None:
    keys = [f"person-{i}" for i in range(20)]
    ids = [await backbone.record(key, seq) for seq in range(3) for key in keys]  # 60 rows, not yet published
    # Batches of about 1 KB: every partition's rows fill several record batches, sent one after another.
    producer = new_producer(backbone.settings)
    producer._message_accumulator._batch_size = 1024
    await start_with_retry(producer)
    relay = Relay(engine=backbone.engine, settings=backbone.settings, producer=producer)
    await relay.start()
    try:
        await backbone.wait_until_published()
    finally:
        await relay.stop()
        await producer.stop()
    assert relay.stats.batches == 1 and relay.stats.published == 60

    records = await _records(backbone, 60)
    assert sorted(dict(r.headers)["ce_id"].decode() for r in records) == sorted(ids)
    assert len({(r.partition, r.offset) for r in records}) == 60
    for key in keys:
        mine = sorted((r for r in records if r.key == key.encode()), key=lambda r: r.offset)
        assert {r.partition for r in mine} == {key_partition(key.encode(), 3)}, key
        assert [json.loads(r.value)["data"]["seq"] for r in mine] == [0, 1, 2], key

    published = {s.attributes["messaging.message.id"]: s for s in spans.get_finished_spans()
                 if s.name == f"{backbone.topic} publish"}
    assert set(published) == set(ids)
    for record in records:
        span = published[dict(record.headers)["ce_id"].decode()]
        assert span.attributes["messaging.destination.partition.id"] == str(record.partition)
        assert span.attributes["messaging.kafka.offset"] == record.offset
        assert dict(record.headers)["traceparent"].decode().split("-")[2] == format(span.context.span_id, "016x")
