"""Long-lived answers (server-sent events) without the middlewares' cost for every chunk.

Every request passes six ASGI middlewares (tracing, server errors, error answers, metrics, the input guard, the
exception handlers), and each wraps `send`. For an answer of one body that is nothing; for a stream it was paid for
every event and every client: most of the capacity hub's CPU for a write to its streams. None of them reads a chunk
between the first and the last, so a stream's response sends those straight to the server's own `send`, kept in the
scope by `ServiceApp` (`chunks_direct`); the response's start and its end still pass every middleware (status,
duration, span end).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

SERVER_SEND = "verbinding.server_send"


class ServiceApp(FastAPI):
    """FastAPI that keeps the server's `send` in the scope, for a stream's chunks (`chunks_direct`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[SERVER_SEND] = send
        await super().__call__(scope, receive, send)


def chunks_direct(scope: Scope, send: Send) -> Send:
    """`send` for a streaming response: its chunks straight to the server, its start and end through `send`."""
    server_send: Send | None = scope.get(SERVER_SEND)
    if server_send is None:  # not under ServiceApp
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("more_body", False):
            await server_send(message)
        else:  # the start, and the body's end: through every middleware, as any answer's
            await send(message)

    return sending
