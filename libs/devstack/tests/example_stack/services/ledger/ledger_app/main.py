"""A tiny service for the stack tests: it counts visits in its own database."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine(os.environ["VERBINDING_DATABASE_URL"])


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/visits")
async def record_visit() -> dict[str, int]:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO visit DEFAULT VALUES"))
        return {"visits": (await connection.execute(text("SELECT count(*) FROM visit"))).scalar_one()}


@app.get("/visits")
async def count_visits() -> dict[str, int]:
    async with engine.connect() as connection:
        return {"visits": (await connection.execute(text("SELECT count(*) FROM visit"))).scalar_one()}
