"""An ASGI app served by uvicorn on a free loopback port: a real HTTP neighbour for a test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI

from verbinding_devstack.infra.ports import free_port


@contextlib.asynccontextmanager
async def serving(app: FastAPI, *, lifespan: bool = False) -> AsyncIterator[str]:
    """Serve `app` (with its lifespan: consumers, relays, jobs, when asked) and yield its base URL; on the way out the
    server stops at once, not waiting for a stand-in's deliberately slow answer."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    async with contextlib.AsyncExitStack() as stack:
        if lifespan:
            await stack.enter_async_context(app.router.lifespan_context(app))
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = server.force_exit = True
            await task
