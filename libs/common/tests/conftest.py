"""A harness around the example service (its database, relays and consumers on a real broker), and an OTLP collector."""

from __future__ import annotations

import http.server
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from example_service import consumer_spec, effect_table, metadata, record_thing
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from verbinding_common.consumer import Handler, IdempotentConsumer
from verbinding_common.db import create_engine, create_sessionmaker, outbox_table
from verbinding_common.kafka import new_producer, start_with_retry
from verbinding_common.relay import Relay
from verbinding_common.settings import ServiceSettings
from verbinding_testing.fixtures import KafkaServer, eventually, test_settings, unique_topic


@dataclass
class Backbone:
    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    topic: str
    relays: list[Relay] = field(default_factory=list)
    consumers: list[IdempotentConsumer] = field(default_factory=list)
    _producers: list = field(default_factory=list)

    async def start_relay(self, name: str = "relay") -> Relay:
        relay = Relay(engine=self.engine, settings=self.settings, name=name)
        await relay.start()
        self.relays.append(relay)
        return relay

    async def start_consumer(self, *, group: str = "example", delay: float = 0.0,
                             handler: Handler | None = None) -> IdempotentConsumer:
        producer = new_producer(self.settings)
        await start_with_retry(producer)
        self._producers.append(producer)
        consumer = IdempotentConsumer(
            spec=consumer_spec(self.topic, group=group, delay=delay, handler=handler),
            sessionmaker=self.sessionmaker, settings=self.settings, producer=producer)
        await consumer.start()
        self.consumers.append(consumer)
        return consumer

    async def record(self, key: str, seq: int, *, fail: bool = False) -> str:
        async with self.sessionmaker() as session, session.begin():
            envelope = await record_thing(session, key=key, seq=seq, topic=self.topic, fail=fail)
        return envelope.id

    async def wait_until_published(self) -> None:
        async def published() -> bool:
            async with self.engine.connect() as conn:
                return not await conn.scalar(select(func.count()).select_from(outbox_table)
                                             .where(outbox_table.c.published_at.is_(None)))

        await eventually(published, what="every outbox row published")

    async def effect_count(self) -> int:
        async with self.engine.connect() as conn:
            return await conn.scalar(select(func.count()).select_from(effect_table))

    async def effects(self) -> list:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(effect_table).order_by(effect_table.c.id))).all()

    async def wait_for_effects(self, count: int, timeout: float = 60.0) -> None:
        async def enough() -> bool:
            return await self.effect_count() >= count

        await eventually(enough, timeout=timeout, what=f"{count} effects")

    async def close(self) -> None:
        for consumer in self.consumers:
            await consumer.stop()
        for relay in self.relays:
            await relay.stop()
        for producer in self._producers:
            await producer.stop()
        await self.engine.dispose()


async def make_backbone(database_url: str, bootstrap_servers: str, **overrides: object) -> Backbone:
    settings = test_settings(database_url=database_url, bootstrap_servers=bootstrap_servers, **overrides)
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return Backbone(settings=settings, engine=engine, sessionmaker=create_sessionmaker(engine),
                    topic=unique_topic("things"))


@pytest.fixture
async def backbone(database_url: str, kafka_server: KafkaServer) -> AsyncIterator[Backbone]:
    harness = await make_backbone(database_url, kafka_server.bootstrap_servers)
    try:
        yield harness
    finally:
        await harness.close()


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A collector's OTLP/HTTP receiver on loopback: what each POST brought, by path."""
    received: list[tuple[str, bytes]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
