"""SessionDep: one transaction per request, committed before the response leaves."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from verbinding_common import db
from verbinding_common.app import create_service_app
from verbinding_common.db import SessionDep, create_engine, create_sessionmaker
from verbinding_common.errors import ErrorResponses
from verbinding_common.settings import ServiceSettings


async def test_a_commit_that_fails_answers_500_not_200(database_url: str) -> None:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        # A deferred constraint is checked only at COMMIT: the route body itself succeeds.
        await conn.execute(text("CREATE TABLE receipt (code text, CONSTRAINT uq_code UNIQUE (code) "
                                "DEFERRABLE INITIALLY DEFERRED)"))
        await conn.execute(text("INSERT INTO receipt VALUES ('taken')"))
    app = FastAPI()
    app.state.sessionmaker = create_sessionmaker(engine)
    app.add_middleware(ErrorResponses)

    @app.post("/receipts/{code}")
    async def issue(code: str, session: SessionDep) -> dict[str, str]:
        await session.execute(text("INSERT INTO receipt VALUES (:code)"), {"code": code})
        return {"code": code}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        assert (await client.post("/receipts/fresh")).status_code == 200
        assert (await client.post("/receipts/taken")).status_code == 500
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM receipt")) == 2
    await engine.dispose()


async def test_a_requests_statement_past_its_bound_is_cancelled_rolled_back_and_answered_503(database_url: str) -> None:
    """The gateway gives up on a call after 1.5 s: a service's work for that request must not go on to commit."""
    engine = create_engine(database_url, statement_timeout_ms=200)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE slow_write (code text)"))
    app = FastAPI()
    app.state.sessionmaker = create_sessionmaker(engine)
    app.add_middleware(ErrorResponses)

    @app.post("/writes/{code}")
    async def write(code: str, session: SessionDep, seconds: float = 0.0) -> dict[str, str]:
        await session.execute(text("INSERT INTO slow_write VALUES (:code)"), {"code": code})
        await session.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
        return {"code": code}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        quick = await client.post("/writes/quick")
        slow = await client.post("/writes/slow", params={"seconds": 3})
    async with engine.connect() as conn:
        stored = (await conn.scalars(text("SELECT code FROM slow_write"))).all()
    await engine.dispose()
    assert quick.status_code == 200
    assert slow.status_code == 503 and slow.headers["retry-after"]
    assert "nothing was done" in slow.json()["detail"]
    assert stored == ["quick"]


async def test_a_service_bounds_its_requests_statements_and_not_its_background_work(database_url: str) -> None:
    """The relay, the consumers and the jobs have no caller waiting: their pool is not bounded."""
    app = create_service_app(settings=ServiceSettings(environment="test", database_url=database_url,
                                                      request_statement_timeout_ms=750), title="bounded")
    try:
        async with app.state.engine.connect() as conn:
            assert await conn.scalar(text("SHOW statement_timeout")) == "750ms"
        async with app.state.runtime.engine.connect() as conn:
            assert await conn.scalar(text("SHOW statement_timeout")) == "0"
    finally:
        await app.state.engine.dispose()
        await app.state.runtime.engine.dispose()


async def test_a_pooled_connection_idle_too_long_is_replaced_when_the_database_dropped_it(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a ping on every checkout, a connection the database closed while it sat in the pool must still never
    reach a request: one idle past IDLE_PING_S is pinged first, and replaced when it does not answer."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            first_pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        killer = create_engine(database_url)
        async with killer.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        await killer.dispose()
        monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # the connection has now been idle too long
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()


def test_the_production_bound_on_a_requests_statement_is_below_the_gateways_deadline() -> None:
    from gateway.settings import GatewaySettings

    from verbinding_common.settings import ServiceSettings

    bound_s = ServiceSettings.model_fields["request_statement_timeout_ms"].default / 1000
    assert 0 < bound_s < GatewaySettings.model_fields["downstream_timeout_s"].default
