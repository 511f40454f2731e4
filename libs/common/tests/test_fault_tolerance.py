"""The backbone under faults: a frozen broker, a killed consumer process, a broker that restarts empty."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import make_backbone
from verbinding_common.db import outbox_table
from verbinding_devstack.infra.broker import EmbeddedBroker
from verbinding_testing.fixtures import eventually

pytestmark = pytest.mark.slow
EXAMPLE_SERVICE = Path(__file__).with_name("example_service.py")


def assert_exactly_once(effects: list, expected_ids: list[str]) -> None:
    applied = [e.event_id for e in effects]
    assert len(applied) == len(set(applied)), "an event's effect was applied twice"
    assert sorted(applied) == sorted(expected_ids), "an event's effect is missing"


async def test_every_event_arrives_exactly_once_after_the_broker_was_frozen(
        database_url: str, own_broker: EmbeddedBroker) -> None:
    backbone = await make_backbone(database_url, own_broker.bootstrap_servers)
    try:
        await backbone.start_consumer()
        relay = await backbone.start_relay()
        warmup = [await backbone.record("warm", 0)]
        await backbone.wait_for_effects(1)

        own_broker.pause()
        try:
            ids = [await backbone.record(f"person-{n % 25}", n) for n in range(500)]
            # Frozen past the producer's request timeout: a send fails and the relay must retry it.
            await eventually(lambda: asyncio.sleep(0, relay.stats.failures >= 1), what="a failed send",
                             timeout=backbone.settings.kafka_request_timeout_ms / 1000 + 30)
            async with backbone.engine.connect() as conn:
                unpublished = await conn.scalar(select(func.count()).select_from(outbox_table)
                                                .where(outbox_table.c.published_at.is_(None)))
            assert unpublished > 0, "events must wait in the outbox while the broker is frozen"
        finally:
            own_broker.resume()

        await backbone.wait_for_effects(501, timeout=120)
        await asyncio.sleep(1.0)
        assert_exactly_once(await backbone.effects(), warmup + ids)
        assert relay.stats.failures >= 1
    finally:
        await backbone.close()


async def test_a_consumer_killed_mid_stream_applies_every_event_exactly_once_after_restart(
        database_url: str, own_broker: EmbeddedBroker) -> None:
    backbone = await make_backbone(database_url, own_broker.bootstrap_servers)
    total = 1500

    def consumer_process() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, str(EXAMPLE_SERVICE), "consume", "--database-url", database_url,
             "--bootstrap", own_broker.bootstrap_servers, "--topic", backbone.topic, "--group", "killed",
             "--delay", "0.002"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    first = second = None
    try:
        await backbone.start_relay()
        ids = []
        for n in range(total):
            ids.append(await backbone.record(f"person-{n % 40}", n))
        first = consumer_process()

        async def midway() -> bool:
            return await backbone.effect_count() >= total // 4

        await eventually(midway, timeout=90, what="a quarter of the events applied")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        at_kill = await backbone.effect_count()
        assert at_kill < total, "the kill must land mid-stream"

        second = consumer_process()
        await backbone.wait_for_effects(total, timeout=120)
        await asyncio.sleep(1.5)
        assert_exactly_once(await backbone.effects(), ids)
    finally:
        for process in (first, second):
            if process and process.poll() is None:
                process.terminate()
                process.wait(10)
        await backbone.close()


async def test_no_committed_event_is_lost_when_the_broker_restarts_empty(
        database_url: str, own_broker: EmbeddedBroker) -> None:
    backbone = await make_backbone(database_url, own_broker.bootstrap_servers)
    try:
        relay = await backbone.start_relay()
        consumer = await backbone.start_consumer()
        seen = [await backbone.record(f"case-{n % 5}", n) for n in range(100)]
        await backbone.wait_for_effects(100)

        # Published to the broker but never consumed: the consumer is gone when the broker loses them.
        await consumer.stop()
        backbone.consumers.remove(consumer)
        unseen = [await backbone.record(f"case-{n % 5}", n) for n in range(100, 150)]

        async def all_published() -> bool:
            async with backbone.engine.connect() as conn:
                return not await conn.scalar(select(func.count()).select_from(outbox_table)
                                             .where(outbox_table.c.published_at.is_(None)))

        await eventually(all_published, what="the outbox relayed")
        own_broker.restart()
        assert own_broker.running()
        await backbone.start_consumer()
        later = [await backbone.record(f"case-{n % 5}", n) for n in range(150, 170)]

        await backbone.wait_for_effects(170, timeout=90)
        await asyncio.sleep(1.0)
        effects = await backbone.effects()
        assert_exactly_once(effects, seen + unseen + later)
        assert relay.stats.republished >= 150
        for key in {f"case-{n}" for n in range(5)}:
            seqs = [e.seq for e in effects if e.key == key]
            assert seqs == sorted(seqs), f"{key} applied out of order"
    finally:
        await backbone.close()
