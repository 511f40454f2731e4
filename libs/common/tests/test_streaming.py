"""A stream's chunks go straight to the server: the middlewares see its start and its end, once each, however many
chunks it sends (and an answer of one body passes them as before)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from verbinding_common.streaming import ServiceApp, chunks_direct

CHUNKS = 50


class DirectStream(StreamingResponse):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, chunks_direct(scope, send))


def counting_app(app_class: type[FastAPI]) -> tuple[FastAPI, list[str]]:
    app = app_class()
    seen: list[str] = []

    class Counting:  # a pure ASGI middleware, as every service's: it wraps `send` for its own reasons
        def __init__(self, inner) -> None:
            self.inner = inner

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def counted(message: Message) -> None:
                seen.append(message["type"] + ("+" if message.get("more_body") else ""))
                await send(message)

            await self.inner(scope, receive, counted)

    app.add_middleware(Counting)

    async def chunks():
        for number in range(CHUNKS):
            yield f"data: {number}\n\n".encode()

    @app.get("/stream")
    async def stream() -> DirectStream:
        return DirectStream(chunks(), media_type="text/event-stream")

    @app.get("/one")
    async def one() -> JSONResponse:
        return JSONResponse({"one": 1})

    return app, seen


async def test_a_streams_chunks_skip_the_middlewares_and_all_reach_the_client() -> None:
    app, seen = counting_app(ServiceApp)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        body = (await client.get("/stream")).text
        assert (await client.get("/one")).json() == {"one": 1}
    assert body == "".join(f"data: {number}\n\n" for number in range(CHUNKS))
    assert seen == ["http.response.start", "http.response.body",  # the stream: its start and its end only
                    "http.response.start", "http.response.body"]


async def test_outside_a_service_app_a_stream_passes_the_middlewares_as_any_answer() -> None:
    app, seen = counting_app(FastAPI)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        body = (await client.get("/stream")).text
    assert body.count("data: ") == CHUNKS
    assert seen.count("http.response.body+") == CHUNKS
