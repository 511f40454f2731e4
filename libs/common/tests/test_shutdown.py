"""Shutdown: a service's consumers drain together, so the pod's grace period covers one drain, not one per consumer."""

from __future__ import annotations

import asyncio

from verbinding_common.app import ServiceRuntime
from verbinding_common.db import create_engine, create_sessionmaker
from verbinding_testing.fixtures import test_settings


class DrainingConsumer:
    """Stands in for a consumer being stopped: its drain ends only once every other one's has begun."""

    def __init__(self, everyone: list[DrainingConsumer]) -> None:
        self.everyone = everyone
        self.draining = asyncio.Event()

    async def stop(self, *, drain_seconds: float = 0.0) -> None:
        self.draining.set()
        await asyncio.gather(*(other.draining.wait() for other in self.everyone))


async def test_every_consumer_drains_at_the_same_time() -> None:
    settings = test_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
                             bootstrap_servers="127.0.0.1:1")
    engine = create_engine(settings.database_url)
    runtime = ServiceRuntime(settings=settings, engine=engine, sessionmaker=create_sessionmaker(engine), consumers=())
    consumers: list[DrainingConsumer] = []
    consumers += [DrainingConsumer(consumers) for _ in range(3)]
    runtime.consumers = consumers  # type: ignore[assignment]

    # One after another, the first drain would wait for the second forever.
    await asyncio.wait_for(runtime.stop(), timeout=30)
    assert all(consumer.draining.is_set() for consumer in consumers)
