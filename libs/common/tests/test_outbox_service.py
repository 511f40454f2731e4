"""Outbox, relay and idempotent consumer on the real database and the real broker."""

from __future__ import annotations

import asyncio
import random

from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select

from conftest import Backbone, wait_for
from verbinding_common.db import outbox_table
from verbinding_common.kafka import dlq_topic, new_producer, start_with_retry


async def test_state_change_and_event_commit_together_and_rollback_emits_nothing(backbone: Backbone) -> None:
    await backbone.start_relay()
    await backbone.start_consumer()
    committed = await backbone.record("person-1", 1)

    class Abort(Exception):
        pass

    try:
        async with backbone.sessionmaker() as session, session.begin():
            from example_service import record_thing

            await record_thing(session, key="person-2", seq=1, topic=backbone.topic)
            raise Abort
    except Abort:
        pass
    after = await backbone.record("person-3", 1)

    await backbone.wait_for_effects(2)
    await asyncio.sleep(1.0)  # give a wrongly published event time to show up
    effects = await backbone.effects()
    assert sorted(e.event_id for e in effects) == sorted([committed, after])
    assert "person-2" not in {e.key for e in effects}
    async with backbone.engine.connect() as conn:
        rows = (await conn.execute(select(outbox_table.c.key, outbox_table.c.published_at))).all()
    assert sorted(r.key for r in rows) == ["person-1", "person-3"]
    assert all(r.published_at is not None for r in rows)


async def test_poison_message_lands_on_dlq_with_its_error_and_later_messages_are_processed(
        backbone: Backbone) -> None:
    await backbone.start_relay()
    consumer = await backbone.start_consumer()
    await backbone.record("k", 1)
    await backbone.record("k", 2, fail=True)  # the handler always raises for this one
    producer = new_producer(backbone.settings)
    await start_with_retry(producer)
    await producer.send_and_wait(backbone.topic, value=b"{not json", key=b"k")
    await producer.stop()
    await backbone.record("k", 3)

    await backbone.wait_for_effects(2)
    await wait_for(lambda: _true(consumer.stats.dead_lettered >= 2), what="two dead letters")
    assert sorted(e.seq for e in await backbone.effects()) == [1, 3]

    dlq = AIOKafkaConsumer(dlq_topic(backbone.topic), bootstrap_servers=backbone.settings.kafka_bootstrap_servers,
                           auto_offset_reset="earliest", group_id=None)
    await dlq.start()
    try:
        records = []
        async def collected() -> bool:
            batch = await dlq.getmany(timeout_ms=500)
            records.extend(r for rs in batch.values() for r in rs)
            return len(records) >= 2
        await wait_for(collected, what="DLQ records")
    finally:
        await dlq.stop()
    errors = sorted(dict(r.headers)["dlq.error"].decode() for r in records)
    assert any("cannot be applied" in e for e in errors)
    assert any("Invalid JSON" in e or "json" in e.lower() for e in errors)
    assert {dict(r.headers)["dlq.topic"].decode() for r in records} == {backbone.topic}
    assert b"{not json" in {r.value for r in records}


async def test_events_of_one_aggregate_are_consumed_in_commit_order_with_several_relays_and_restarts(
        backbone: Backbone) -> None:
    keys = [f"case-{i}" for i in range(12)]
    per_key = 25
    relays = [await backbone.start_relay(name="relay") for _ in range(3)]
    await backbone.start_consumer()

    async def writer(key: str) -> None:
        for seq in range(per_key):
            await backbone.record(key, seq)
            if random.random() < 0.2:
                await asyncio.sleep(0.01)

    writers = asyncio.gather(*(writer(k) for k in keys))
    await asyncio.sleep(0.3)
    await relays[0].stop()  # a relay worker going away mid-stream
    await backbone.start_relay(name="relay")
    await writers
    total = len(keys) * per_key
    await backbone.wait_for_effects(total)

    effects = await backbone.effects()
    assert len(effects) == total
    for key in keys:
        assert [e.seq for e in effects if e.key == key] == list(range(per_key)), key
    published = sum(relay.stats.published for relay in backbone.relays)
    assert published >= total
    assert sum(1 for relay in backbone.relays if relay.stats.published) >= 2


async def test_relay_retries_rows_left_unpublished_by_a_crash(backbone: Backbone) -> None:
    ids = [await backbone.record("left-behind", seq) for seq in range(5)]  # no relay was running
    async with backbone.engine.connect() as conn:
        waiting = await conn.scalar(select(func.count()).select_from(outbox_table)
                                    .where(outbox_table.c.published_at.is_(None)))
    assert waiting == 5
    await backbone.start_consumer()
    await backbone.start_relay()
    await backbone.wait_for_effects(5)
    assert sorted(e.event_id for e in await backbone.effects()) == sorted(ids)


async def _true(value: bool) -> bool:
    return value


async def test_members_joining_and_leaving_mid_stream_apply_every_event_exactly_once(backbone: Backbone) -> None:
    await backbone.start_relay()
    first = await backbone.start_consumer(group="rebalanced", delay=0.005)
    ids: list[str] = []

    async def writer() -> None:  # events keep coming while members join and leave
        for n in range(400):
            ids.append(await backbone.record(f"case-{n % 9}", n))
            await asyncio.sleep(0.015)

    writing = asyncio.create_task(writer())
    await wait_for(lambda: _true(first.stats.handled >= 20), what="the first member under way")
    second = await backbone.start_consumer(group="rebalanced", delay=0.005)  # a rebalance: partitions move
    await wait_for(lambda: _true(second.stats.handled >= 10), what="the second member handling events")
    assert not writing.done(), "the rebalance must happen mid-stream"
    await first.stop()  # and back again, mid-stream
    backbone.consumers.remove(first)
    handled_after_first_left = second.stats.handled
    await writing
    await backbone.wait_for_effects(400, timeout=90)
    await asyncio.sleep(1.0)
    effects = await backbone.effects()
    assert sorted(e.event_id for e in effects) == sorted(ids), "every event applied exactly once"
    assert second.stats.handled > handled_after_first_left, "the partitions of the member that left moved on"
    for key in {e.key for e in effects}:
        seqs = [e.seq for e in effects if e.key == key]
        assert seqs == sorted(seqs), f"{key} applied out of order across the rebalances"
