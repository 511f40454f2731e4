"""A broken world is not a broken message: outages are waited out, never dead-lettered, and readiness says so."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from example_service import ThingHappened, consumer_spec, make_handler
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from conftest import Backbone, make_backbone
from verbinding_common.app import create_service_app
from verbinding_common.consumer import ConsumedEvent
from verbinding_common.db import backbone_metadata, create_engine
from verbinding_common.failures import is_permanent, outage_of
from verbinding_devstack.infra.postgres import EmbeddedPostgres
from verbinding_testing.fixtures import KafkaServer, create_database, eventually


def assert_exactly_once(effects: list, expected_ids: list[str]) -> None:
    applied = [e.event_id for e in effects]
    assert len(applied) == len(set(applied)), "an event's effect was applied twice"
    assert sorted(applied) == sorted(expected_ids), "an event's effect is missing"


def _wrapped(error: BaseException) -> DBAPIError:
    """An asyncpg error as SQLAlchemy hands it over."""
    try:
        raise DBAPIError("statement", {}, Exception("adapted")) from error
    except DBAPIError as exc:
        return exc


@pytest.mark.parametrize("error", [
    _wrapped(asyncpg.SerializationError("could not serialize")), _wrapped(asyncpg.DeadlockDetectedError("")),
    _wrapped(asyncpg.LockNotAvailableError("")), _wrapped(asyncpg.AdminShutdownError("")),
    _wrapped(asyncpg.CannotConnectNowError("")), _wrapped(asyncpg.ConnectionDoesNotExistError("")),
    ConnectionRefusedError(), ConnectionResetError(), TimeoutError(), KafkaConnectionError(),
])
def test_an_error_of_the_database_or_broker_is_an_outage_to_wait_out(error: BaseException) -> None:
    assert outage_of(error) in {"database", "broker", "contention"}
    assert not is_permanent(error)


@pytest.mark.parametrize("error", [
    _wrapped(asyncpg.StringDataRightTruncationError("")), _wrapped(asyncpg.DataError("")),
    _wrapped(asyncpg.UniqueViolationError("")), RuntimeError("a rule"), MessageSizeTooLargeError(),
])
def test_an_error_the_same_message_raises_again_is_no_outage(error: BaseException) -> None:
    assert outage_of(error) is None


async def test_a_database_outage_dead_letters_nothing_and_every_event_is_applied_once_after_it(
        own_postgres: EmbeddedPostgres, kafka_server: KafkaServer) -> None:
    database_url = await create_database(own_postgres.url, "outage")
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(backbone_metadata.create_all)
    await engine.dispose()
    # Small fetches applied slowly: the outage strikes mid-stream, with a transaction in flight.
    backbone = await make_backbone(database_url, kafka_server.bootstrap_servers, consumer_batch_size=5)
    relay = await backbone.start_relay()
    ids = [await backbone.record(f"person-{n % 7}", n) for n in range(80)]
    await backbone.wait_until_published()
    await relay.stop()
    backbone.relays.clear()
    await backbone.engine.dispose()

    app = create_service_app(settings=backbone.settings, title="example",
                             consumers=[consumer_spec(backbone.topic, group="example", delay=0.05)])
    backbone.engine = app.state.engine
    readiness: list[dict] = []
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://example") as client:
            await backbone.wait_for_effects(10)
            assert await backbone.effect_count() < 60, "the stream is still flowing when the database stops"
            await asyncio.to_thread(own_postgres.stop)
            [consumer] = app.state.runtime.consumers
            try:
                async def waiting() -> bool:
                    return consumer.waiting_on == "database"

                await eventually(waiting, timeout=30, what="the consumer to wait on its database")
                stopped_at = time.monotonic()
                while time.monotonic() - stopped_at < 6:
                    response = await client.get("/readyz")
                    readiness.append({"status": response.status_code, **response.json()["checks"]})
                    assert consumer.stats.dead_lettered == 0
                    await asyncio.sleep(1.0)
            finally:
                await asyncio.to_thread(own_postgres.start)
            await backbone.wait_for_effects(80, timeout=60)

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await eventually(ready, timeout=30, what="readiness back")
            await asyncio.sleep(0.5)  # give a second application time to show up
            assert_exactly_once(await backbone.effects(), ids)
            assert consumer.stats.dead_lettered == 0
            assert consumer.stats.outage_waits >= 1 and consumer.waiting_on is None
    finally:
        await backbone.close()
    assert readiness and all(r["status"] == 503 for r in readiness)
    assert all(r["consumer example"] == "waiting on its database" for r in readiness), readiness[-1]


@pytest.mark.parametrize("sqlstate", ["40001", "40P01", "55P03"])
async def test_a_serialization_failure_deadlock_or_lock_timeout_is_retried_past_the_attempt_limit_not_dead_lettered(
        backbone: Backbone, sqlstate: str) -> None:
    failures_left = backbone.settings.consumer_max_attempts + 2
    apply_things = make_handler()
    readiness_seen: list[str | None] = []

    async def contended(session: AsyncSession, events: list[ConsumedEvent[ThingHappened]]) -> None:
        nonlocal failures_left
        readiness_seen.append(backbone.consumers[0].waiting_on)
        await apply_things(session, events)
        if failures_left:
            failures_left -= 1
            await session.execute(text(f"DO $$ BEGIN RAISE EXCEPTION 'contended' USING ERRCODE = '{sqlstate}'; END $$"))

    consumer = await backbone.start_consumer(handler=contended)
    await backbone.start_relay()
    ids = [await backbone.record("contended", n) for n in range(3)]
    await backbone.wait_for_effects(3, timeout=60)
    await asyncio.sleep(0.3)

    assert_exactly_once(await backbone.effects(), ids)
    assert consumer.stats.dead_lettered == 0
    assert consumer.stats.outage_waits >= backbone.settings.consumer_max_attempts + 2
    assert len(readiness_seen) > failures_left and set(readiness_seen) == {None}, \
        "contention is no reason to report the service not ready"
