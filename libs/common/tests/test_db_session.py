"""SessionDep: one transaction per request, committed before the response leaves."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from verbinding_common.db import SessionDep, create_engine, create_sessionmaker
from verbinding_common.errors import ErrorResponses


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
