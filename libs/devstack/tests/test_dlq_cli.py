"""`verbinding dlq list|replay` against a real broker: lists errors, sends a dead letter back once."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from verbinding_devstack import cli
from verbinding_testing.fixtures import KafkaServer, eventually, unique_topic


async def test_dlq_list_shows_each_dead_letters_error_and_replay_sends_it_back_once(
        kafka_server: KafkaServer, capsys: pytest.CaptureFixture[str]) -> None:
    servers = kafka_server.bootstrap_servers
    topic = unique_topic("dlq-cli")
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        await producer.send_and_wait(f"{topic}.dlq", value=b'{"id": "evt-1"}', key=b"k", headers=[
            ("ce_id", b"evt-1"), ("dlq.error_type", b"PoisonMessage"), ("dlq.error", b"PoisonMessage: seq: missing"),
            ("dlq.event_id", b"evt-1"), ("dlq.topic", topic.encode()), ("dlq.consumer_group", b"example")])
    finally:
        await producer.stop()

    def run(*argv: str) -> tuple[int, str]:
        code = cli.main(["dlq", *argv, "--bootstrap-servers", servers])
        return code, capsys.readouterr().out

    code, listed = await asyncio.to_thread(run, "list", topic)
    assert code == 0
    assert "evt-1" in listed and "PoisonMessage: seq: missing" in listed and "waiting" in listed
    code, replayed = await asyncio.to_thread(run, "replay", topic, "--event-id", "evt-1")
    assert (code, replayed.startswith(f"replayed 0:0 evt-1 to {topic}")) == (0, True), replayed
    code, again = await asyncio.to_thread(run, "replay", topic, "--all")
    assert (code, again.startswith("skipped 0:0 evt-1")) == (0, True), again
    _, listed = await asyncio.to_thread(run, "list", f"{topic}.dlq")
    assert "replayed" in listed and "0 not replayed" in listed

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=servers, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    records: list = []
    try:
        async def sent_back() -> bool:
            batch = await consumer.getmany(timeout_ms=500)
            records.extend(r for rs in batch.values() for r in rs)
            return bool(records)

        await eventually(sent_back, timeout=20, what="the replayed record")
        await asyncio.sleep(0.5)
        records.extend(r for rs in (await consumer.getmany(timeout_ms=500)).values() for r in rs)
    finally:
        await consumer.stop()
    [record] = records
    assert (record.value, record.key, list(record.headers)) == (b'{"id": "evt-1"}', b"k", [("ce_id", b"evt-1")])
