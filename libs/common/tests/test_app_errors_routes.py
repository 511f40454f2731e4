"""How every app answers errors: domain errors as problem+json 4xx, a stopped database or broker as 503 + Retry-After,
anything unexpected as a generic 500 — each from inside the app, so the client's keep-alive connection survives."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from aiokafka.errors import KafkaTimeoutError
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from verbinding_common.app import create_service_app
from verbinding_common.db import SessionDep, backbone_metadata, create_engine
from verbinding_common.errors import Conflict, NotFound, is_unavailable
from verbinding_common.kafka import new_producer
from verbinding_devstack.infra.ports import free_port
from verbinding_devstack.infra.postgres import EmbeddedPostgres
from verbinding_testing.fixtures import KafkaServer, eventually, started_postgres, test_settings

SECRET_NAME = "Amal Haddad"
router = APIRouter()


@router.get("/visits")
async def count_visits(session: SessionDep) -> dict[str, int]:
    return {"visits": await session.scalar(text("SELECT count(*) FROM pg_stat_activity"))}


@router.get("/cases/{case_id}")
async def missing_case(case_id: str) -> None:
    raise NotFound("no case with this id")


@router.post("/cases/{case_id}/close")
async def closed_case(case_id: str) -> None:
    raise Conflict("the case is already closed")


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError(f"an unexpected bug that mentions {SECRET_NAME}")


@router.post("/publish")
async def publish() -> None:
    producer = new_producer(test_settings(database_url="", bootstrap_servers=f"127.0.0.1:{free_port()}",
                                          kafka_request_timeout_ms=1_000))
    try:
        await producer.start()
    finally:
        await producer.stop()


@pytest.fixture
async def own_postgres(infra_dir: Path) -> AsyncIterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, with the backbone's tables (the relay polls them): the test stops it."""
    with started_postgres(infra_dir / f"pg-{uuid.uuid4().hex[:6]}") as server:
        engine = create_engine(server.url)
        async with engine.begin() as conn:
            await conn.run_sync(backbone_metadata.create_all)
        await engine.dispose()
        yield server


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    """The app (lifespan included) under a real uvicorn server on loopback."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    try:
        await eventually(started, timeout=30, what="uvicorn started")
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        await task


def local_port(response: httpx.Response) -> int:
    """The client side's port of the connection that carried `response`."""
    return response.extensions["network_stream"].get_extra_info("client_addr")[1]


async def test_outages_and_errors_are_answered_and_the_same_connection_serves_on(own_postgres: EmbeddedPostgres,
                                                                                kafka_server: KafkaServer) -> None:
    settings = test_settings(database_url=own_postgres.url, bootstrap_servers=kafka_server.bootstrap_servers,
                             service_name="errors-example", unavailable_retry_after_s=7)
    app = create_service_app(settings=settings, title="errors example", routers=[router])
    async with serving(app) as (base_url, server), httpx.AsyncClient(
            base_url=base_url, limits=httpx.Limits(max_connections=1), timeout=30) as client:
        first = await client.get("/visits")
        assert first.status_code == 200, first.text
        port = local_port(first)

        own_postgres.stop()
        answers = [await client.get("/visits"), await client.get("/visits"), await client.post("/publish")]
        for down in answers:
            assert down.status_code == 503, down.text
            assert down.headers["Retry-After"] == "7"
            assert down.headers["content-type"] == "application/problem+json"
            assert down.json()["detail"] == "a database or broker this service needs is unavailable; try again later"
            assert down.json()["trace_id"] == down.headers["X-Trace-Id"]

        bug = await client.get("/boom")
        assert bug.status_code == 500
        assert bug.json()["detail"] == "internal error" and SECRET_NAME not in bug.text
        assert bug.json()["trace_id"] == bug.headers["X-Trace-Id"]

        missing, conflict = await client.get("/cases/c-1"), await client.post("/cases/c-1/close")
        assert (missing.status_code, missing.json()["title"], missing.json()["detail"]) == (
            404, "Not Found", "no case with this id")
        assert (conflict.status_code, conflict.json()["status"], conflict.json()["detail"]) == (
            409, 409, "the case is already closed")

        own_postgres.start()
        back = await client.get("/visits")
        assert back.status_code == 200, back.text

        every = [first, *answers, bug, missing, conflict, back]
        assert {local_port(response) for response in every} == {port}
        assert len(server.server_state.connections) == 1
        assert server.server_state.total_requests == len(every)


async def test_transient_database_errors_count_as_unavailable_and_refusals_do_not(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)"))
            await conn.execute(text("INSERT INTO counter VALUES (1, 0)"))

        first, second = await engine.connect(), await engine.connect()
        try:
            for conn in (first, second):
                await conn.execution_options(isolation_level="SERIALIZABLE")
                await conn.execute(text("SELECT n FROM counter WHERE id = 1"))
            await first.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))
            await first.commit()
            with pytest.raises(DBAPIError) as serialization:
                await second.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))
        finally:
            await first.close()
            await second.close()

        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as duplicate:
                await conn.execute(text("INSERT INTO counter VALUES (1, 0)"))
    finally:
        await engine.dispose()

    assert is_unavailable(serialization.value) is True
    assert is_unavailable(duplicate.value) is False
    assert is_unavailable(PoolTimeout("QueuePool limit reached")) is True
    assert is_unavailable(KafkaTimeoutError()) is True
    assert is_unavailable(RuntimeError("a bug")) is False
    assert is_unavailable(FileNotFoundError("settings.toml")) is False
