"""A small NGO webhook receiver on loopback for `make demo`: it verifies every delivery's Standard Webhooks signature
and keeps the verified payloads (an example of what an NGO system runs to take capacity changes in)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class WebhookReceiver:
    """An ASGI app answering POST /capacity: 204 for a delivery whose signature verifies with `secret`, 401 for one
    that does not, 503 until the secret is known (the hub retries then)."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.verified: list[dict[str, Any]] = []
        self.refused = 0
        self.changed = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status = self._take(scope, body)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    def _take(self, scope: dict[str, Any], body: bytes) -> int:
        if scope["method"] != "POST" or scope["path"] != "/capacity":
            return 404
        if self.secret is None:
            return 503
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            self.refused += 1
            return 401
        self.verified.append(payload["data"] if isinstance(payload, dict) and "data" in payload else payload)
        self.changed.set()
        return 204

    async def wait_for(self, condition: Callable[[list[dict[str, Any]]], bool], timeout: float) -> None:
        """Until the verified deliveries satisfy `condition` (TimeoutError after `timeout` seconds)."""
        async def satisfied() -> None:
            while not condition(self.verified):
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(satisfied(), timeout)


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[tuple[WebhookReceiver, str]]:
    """Serve a receiver on a free loopback port; yields it and its URL."""
    receiver = WebhookReceiver()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(receiver, log_level="warning", access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield receiver, f"http://127.0.0.1:{port}/capacity"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        sock.close()
