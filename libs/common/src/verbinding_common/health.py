"""Liveness and readiness: /healthz answers while the process runs, /readyz when database and broker answer
and no consumer is waiting out an outage (it also shows each job's last success and failure, not judged)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from .consumer import IdempotentConsumer

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    checks = {
        "database": await _check(_database(request)),
        "broker": await _check(request.app.state.runtime.broker_reachable()),
        **consumer_checks(request.app.state.runtime.consumers),
    }
    ready = all(value == "ok" for value in checks.values())
    # A purge that failed once is for operators to see, not a reason to take the replica out of service.
    jobs = {name: status.as_dict() for name, status in request.app.state.runtime.jobs.statuses.items()}
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks, "jobs": jobs},
                        status_code=200 if ready else 503)


def consumer_checks(consumers: Sequence[IdempotentConsumer]) -> dict[str, str]:
    """Per consumer group: "ok", or what it waits for (its fetch held, nothing dead-lettered meanwhile)."""
    return {f"consumer {consumer.group_id}": f"waiting on its {consumer.waiting_on}" if consumer.waiting_on else "ok"
            for consumer in consumers}


async def _database(request: Request) -> None:
    async with request.app.state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check(probe: object, timeout: float = 2.0) -> str:
    try:
        await asyncio.wait_for(probe, timeout)  # type: ignore[arg-type]
    except Exception as exc:
        return f"unavailable: {exc.__class__.__name__}"
    return "ok"
