"""Outbox, relay and idempotent consumer on the real database and the real broker."""

from __future__ import annotations

import asyncio
import random

from aiokafka import AIOKafkaConsumer
from example_service import ThingHappened, make_handler
from sqlalchemy import event, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from conftest import Backbone
from verbinding_common.consumer import ConsumedEvent
from verbinding_common.db import outbox_table
from verbinding_common.events import build_envelope
from verbinding_common.kafka import dlq_topic, new_producer, start_with_retry
from verbinding_common.outbox import OUTBOX_STAGED, Cause, add_event, add_events, applying
from verbinding_common.relay import RELAY_LOCK, Relay
from verbinding_testing.fixtures import eventually


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
    await eventually(lambda: _true(consumer.stats.dead_lettered >= 2), what="two dead letters")
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
        await eventually(collected, what="DLQ records")
    finally:
        await dlq.stop()
    errors = sorted(dict(r.headers)["dlq.error"].decode() for r in records)
    assert any(e.startswith("RuntimeError raised at example_service.py") for e in errors), errors
    assert any(e.startswith("ContractViolation: not an event envelope") and "json_invalid" in e for e in errors)
    assert all("cannot be applied" not in e for e in errors), "an exception's own text may carry values"
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


async def test_a_relay_that_finds_another_publishing_waits_its_turn_rather_than_a_poll_interval(
        backbone: Backbone) -> None:
    """Two processes of a service: the rows one relay's process committed while the other relay published go out
    as soon as that batch commits, not at the next poll (a minute here), nor out of order."""
    slow_poll = backbone.settings.model_copy(update={"relay_poll_interval_s": 60.0})
    relay = Relay(engine=backbone.engine, settings=slow_poll, name="relay")
    await relay.start()
    backbone.relays.append(relay)
    await backbone.record("warm-up", 0)
    await backbone.wait_until_published()
    async with backbone.engine.connect() as other_relay, other_relay.begin():
        await other_relay.execute(select(func.pg_advisory_xact_lock(*RELAY_LOCK)))
        for seq in range(3):
            await backbone.record("turn", seq)  # each commit wakes this process's relay, which finds the lock held

        async def relay_waits() -> bool:
            async with backbone.engine.connect() as conn:
                return bool(await conn.scalar(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")))

        await eventually(relay_waits, timeout=10, what="the relay waiting for the lock")
    await backbone.start_consumer()
    await backbone.wait_for_effects(4, timeout=10)
    assert [e.seq for e in await backbone.effects() if e.key == "turn"] == [0, 1, 2]


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
    await eventually(lambda: _true(first.stats.handled >= 20), what="the first member under way")
    second = await backbone.start_consumer(group="rebalanced", delay=0.005)  # a rebalance: partitions move
    await eventually(lambda: _true(second.stats.handled >= 10), what="the second member handling events")
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


def _thing(key: str, seq: int, **fields: object) -> ThingHappened:
    return ThingHappened(key=key, seq=seq, **fields)


async def _outbox_rows(backbone: Backbone) -> list:
    async with backbone.engine.connect() as conn:
        return (await conn.execute(select(outbox_table.c.event_id, outbox_table.c.key, outbox_table.c.traceparent,
                                          outbox_table.c.envelope).order_by(outbox_table.c.id))).all()


async def test_add_events_stages_a_batch_in_one_statement_in_the_given_order_with_each_events_trace(
        backbone: Backbone) -> None:
    given = [("b", 1), ("a", 1), ("b", 2), ("c", 1), ("a", 2)]
    causes = [build_envelope(_thing("cause", n), source="example", traceparent=f"00-{n + 1:032x}-{n + 1:016x}-01")
              for n in range(len(given))]
    items = [(_thing(key, seq), key, cause) for (key, seq), cause in zip(given, causes, strict=True)]
    statements: list[str] = []
    woken: list[bool] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(backbone.engine.sync_engine, "before_cursor_execute", count)
    stop_waking = OUTBOX_STAGED.subscribe(lambda: woken.append(True))
    try:
        async with backbone.sessionmaker() as session, session.begin():
            envelopes = await add_events(session, items, source="example", topic=backbone.topic)
    finally:
        stop_waking()
        event.remove(backbone.engine.sync_engine, "before_cursor_execute", count)

    assert sum("INSERT INTO outbox" in statement for statement in statements) == 1
    assert woken == [True], "the commit wakes the relay, as for add_event"
    rows = await _outbox_rows(backbone)
    assert [row.event_id for row in rows] == [envelope.id for envelope in envelopes]
    assert [(row.key, row.envelope["data"]["seq"]) for row in rows] == given
    assert [row.traceparent for row in rows] == [cause.traceparent for cause in causes]
    assert [row.envelope["traceparent"] for row in rows] == [cause.traceparent for cause in causes]
    assert [row.envelope["causationid"] for row in rows] == [cause.id for cause in causes]
    assert [row.envelope["subject"] for row in rows] == [key for key, _ in given]


async def test_add_events_takes_every_key_lock_before_its_rows_get_their_ids(backbone: Backbone) -> None:
    holder = backbone.sessionmaker()
    await holder.begin()
    await add_event(holder, _thing("a", 1), key="a", source="example", topic=backbone.topic)

    async def stage_batch() -> None:
        async with backbone.sessionmaker() as session, session.begin():
            await add_events(session, [(_thing("b", 1), "b"), (_thing("a", 2), "a")],
                             source="example", topic=backbone.topic)

    batch = asyncio.create_task(stage_batch())
    try:
        await asyncio.sleep(0.5)
        assert not batch.done(), "the batch waits for the lock on key a"
        await backbone.record("c", 1)  # draws an id and commits while the batch waits
        await holder.commit()
        await batch
    finally:
        await holder.close()

    # Had the batch drawn its ids before waiting, they would come before c's.
    assert [(row.key, row.envelope["data"]["seq"]) for row in await _outbox_rows(backbone)] == [
        ("a", 1), ("c", 1), ("b", 1), ("a", 2)]


async def test_add_events_holds_its_key_locks_until_commit(backbone: Backbone) -> None:
    batch = backbone.sessionmaker()
    await batch.begin()
    await add_events(batch, [(_thing("z", 1), "z"), (_thing("y", 1), "y")], source="example",
                     topic=backbone.topic)
    later = asyncio.create_task(backbone.record("z", 2))
    try:
        await asyncio.sleep(0.5)
        assert not later.done(), "a transaction writing key z waits for the batch to commit"
        await batch.commit()
        await later
    finally:
        await batch.close()
    assert [(row.key, row.envelope["data"]["seq"]) for row in await _outbox_rows(backbone)] == [
        ("z", 1), ("y", 1), ("z", 2)]


async def test_concurrent_batches_naming_the_same_keys_in_any_order_never_deadlock(backbone: Backbone) -> None:
    keys = [f"case-{n}" for n in range(6)]

    async def stage(writer: int) -> None:
        async with backbone.sessionmaker() as session, session.begin():
            await add_events(session, [(_thing(key, writer), key) for key in random.sample(keys, len(keys))],
                             source="example", topic=backbone.topic)
            await asyncio.sleep(0.02)  # hold the locks a while, as a handler would

    await asyncio.gather(*(stage(writer) for writer in range(12)))
    assert len(await _outbox_rows(backbone)) == 12 * len(keys)


async def test_a_fetch_that_fails_is_applied_one_by_one_by_the_same_handler_and_only_the_culprit_dead_letters(
        backbone: Backbone) -> None:
    good = [await backbone.record("k", 1)]
    poison = await backbone.record("k", 2, fail=True)  # the handler refuses any list holding this one
    good.append(await backbone.record("k", 3))
    await backbone.start_relay()
    await backbone.wait_until_published()
    calls: list[list[str]] = []

    apply_things = make_handler()

    async def recording(session: AsyncSession, events: list[ConsumedEvent[ThingHappened]]) -> None:
        calls.append([event.id for event in events])
        await apply_things(session, events)

    consumer = await backbone.start_consumer(handler=recording)
    await eventually(lambda: _true(consumer.stats.dead_lettered == 1), what="the poison event dead-lettered")
    await backbone.wait_for_effects(2)
    await asyncio.sleep(0.5)  # give a second application time to show up

    assert poison in calls[0] and len(calls[0]) == 3, "the fetch went to the handler as a whole first"
    assert [c for c in calls[1:] if c != [poison]] == [[good[0]], [good[1]]], "then each event on its own"
    assert calls.count([poison]) == backbone.settings.consumer_max_attempts
    assert sorted(e.event_id for e in await backbone.effects()) == sorted(good), "each good event applied once"
    assert (consumer.stats.handled, consumer.stats.dead_lettered) == (2, 1)
    [dead] = await _dead_letters(backbone, 1)
    assert poison.encode() in dead.value
    headers = dict(dead.headers)
    assert headers["dlq.error_type"] == b"RuntimeError" and headers["dlq.event_id"] == poison.encode()


async def _dead_letters(backbone: Backbone, count: int) -> list:
    dlq = AIOKafkaConsumer(dlq_topic(backbone.topic), bootstrap_servers=backbone.settings.kafka_bootstrap_servers,
                           auto_offset_reset="earliest", group_id=None)
    await dlq.start()
    records: list = []
    try:
        async def collected() -> bool:
            batch = await dlq.getmany(timeout_ms=500)
            records.extend(r for rs in batch.values() for r in rs)
            return len(records) >= count
        await eventually(collected, what="DLQ records")
    finally:
        await dlq.stop()
    return records


async def test_purge_deletes_only_published_rows_older_than_the_retention(backbone: Backbone) -> None:
    for seq in range(3):
        await backbone.record("aged", seq)
    async with backbone.engine.begin() as conn:
        ids = (await conn.execute(select(outbox_table.c.id).order_by(outbox_table.c.id))).scalars().all()
        retention = text(f"interval '{backbone.settings.outbox_retention_hours + 1} hours'")
        # old and published / old but never published / published within the retention
        await conn.execute(update(outbox_table).where(outbox_table.c.id == ids[0])
                           .values(created_at=func.now() - retention, published_at=func.now()))
        await conn.execute(update(outbox_table).where(outbox_table.c.id == ids[1])
                           .values(created_at=func.now() - retention))
        await conn.execute(update(outbox_table).where(outbox_table.c.id == ids[2]).values(published_at=func.now()))
    relay = Relay(engine=backbone.engine, settings=backbone.settings)
    assert await relay.purge_published() == 1
    async with backbone.engine.connect() as conn:
        left = (await conn.execute(select(outbox_table.c.id).order_by(outbox_table.c.id))).scalars().all()
    assert left == ids[1:], "an unpublished row is never purged, a recent one stays for republishing"


async def test_a_caused_event_carries_the_causation_id_and_trace_of_the_event_that_caused_it(
        backbone: Backbone) -> None:
    first, second = _thing("a", 1), _thing("b", 1)
    cause_one, cause_two = (Cause(f"event-{n}", f"00-{n:032x}-{n:016x}-01") for n in (1, 2))
    request = build_envelope(_thing("r", 1), source="example", traceparent=f"00-{3:032x}-{3:016x}-01")
    async with backbone.sessionmaker() as session, session.begin():
        with applying([((first,), cause_one), ((second,), cause_two)]):
            by_data = await add_events(session, [(_thing("x", 1), "x", second), (_thing("y", 1), "y", first)],
                                       source="example", topic=backbone.topic)
            unattributed = await add_event(session, _thing("z", 1), key="z", source="example", topic=backbone.topic)
        with applying([((first,), cause_one)]):
            sole = await add_event(session, _thing("s", 1), key="s", source="example", topic=backbone.topic)
        explicit = await add_event(session, _thing("e", 1), key="e", source="example", topic=backbone.topic,
                                   caused_by=request)
        uncaused = await add_event(session, _thing("u", 1), key="u", source="example", topic=backbone.topic)

    assert [(e.causationid, e.traceparent) for e in by_data] == [
        (cause_two.event_id, cause_two.traceparent), (cause_one.event_id, cause_one.traceparent)]
    assert (sole.causationid, sole.traceparent) == (cause_one.event_id, cause_one.traceparent), "one event: the cause"
    assert unattributed.causationid is None, "among several events, only what names its cause has one"
    assert (explicit.causationid, explicit.traceparent) == (request.id, request.traceparent)
    assert uncaused.causationid is None
    stored = {row.event_id: row for row in await _outbox_rows(backbone)}
    assert stored[by_data[0].id].envelope["causationid"] == cause_two.event_id
    assert stored[by_data[0].id].traceparent == cause_two.traceparent
