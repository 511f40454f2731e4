"""Liveness and readiness: /healthz answers while the process runs, /readyz when database and broker answer."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    checks = {
        "database": await _check(_database(request)),
        "broker": await _check(request.app.state.runtime.broker_reachable()),
    }
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)


async def _database(request: Request) -> None:
    async with request.app.state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check(probe: object, timeout: float = 2.0) -> str:
    try:
        await asyncio.wait_for(probe, timeout)  # type: ignore[arg-type]
    except Exception as exc:
        return f"unavailable: {exc.__class__.__name__}"
    return "ok"
