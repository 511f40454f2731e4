"""A tiny example service that exists only to prove the backbone: it records things and consumes their events.

Run as a process: `python example_service.py consume --database-url … --bootstrap … --topic … --group …`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import ClassVar

from sqlalchemy import BigInteger, Column, DateTime, Identity, Integer, MetaData, String, Table, func, insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.consumer import ConsumedEvent, ConsumerSpec, IdempotentConsumer
from verbinding_common.db import create_engine, create_sessionmaker
from verbinding_common.events import Envelope, EventContract, contract
from verbinding_common.kafka import new_producer, start_with_retry
from verbinding_common.outbox import add_event
from verbinding_testing.fixtures import test_settings

metadata = MetaData()

thing_table = Table(
    "thing", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("key", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
)

# No unique constraint on purpose: a second application of an event would show as a second row.
effect_table = Table(
    "effect", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("event_id", String(64), nullable=False),
    Column("key", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("applied_at", DateTime(timezone=True), server_default=func.clock_timestamp()),
)


@contract
class ThingHappened(EventContract):
    event_type: ClassVar[str] = "example.thing-happened.v1"
    topic: ClassVar[str] = "example.things.v1"

    key: str
    seq: int
    fail: bool = False


async def record_thing(session: AsyncSession, *, key: str, seq: int, topic: str, fail: bool = False) -> Envelope:
    """The example state change, with its event staged in the same transaction."""
    await session.execute(insert(thing_table).values(key=key, seq=seq))
    return await add_event(session, ThingHappened(key=key, seq=seq, fail=fail), key=key, source="example",
                           topic=topic)


def make_handler(delay: float = 0.0):
    async def apply_things(session: AsyncSession, events: list[ConsumedEvent[ThingHappened]]) -> None:
        # Written before refusing: a rollback must take them away again.
        await session.execute(insert(effect_table), [
            {"event_id": event.id, "key": event.data.key, "seq": event.data.seq} for event in events])
        if any(event.data.fail for event in events):
            raise RuntimeError(f"things {[event.data.seq for event in events]} cannot be applied")
        if delay:
            await asyncio.sleep(delay * len(events))

    return apply_things


def consumer_spec(topic: str, *, group: str, delay: float = 0.0, handler=None) -> ConsumerSpec:
    return ConsumerSpec(events=[ThingHappened], topics=[topic], group_id=group, handler=handler or make_handler(delay))


async def _consume(args: argparse.Namespace) -> None:
    settings = test_settings(database_url=args.database_url, bootstrap_servers=args.bootstrap)
    engine = create_engine(settings.database_url)
    producer = new_producer(settings)
    await start_with_retry(producer)
    consumer = IdempotentConsumer(spec=consumer_spec(args.topic, group=args.group, delay=args.delay),
                                  sessionmaker=create_sessionmaker(engine), settings=settings, producer=producer)
    await consumer.start()
    print("consuming", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await consumer.stop()
    await producer.stop()
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    consume = sub.add_parser("consume")
    consume.add_argument("--database-url", required=True)
    consume.add_argument("--bootstrap", required=True)
    consume.add_argument("--topic", required=True)
    consume.add_argument("--group", required=True)
    consume.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(_consume(args))


if __name__ == "__main__":
    main()
