"""`GET /stream`: server-sent events of shelter capacity (sse-starlette).

Clients come from the gateway's `GET /api/v1/capacity/stream`, which checks them and hands them off here with a
ticket (`allow(..., ticket=True)`): the events never pass through the gateway.

A snapshot first (the latest figures of every shelter that passes the filter), then each change as it is logged,
its log position as the event id. `Last-Event-ID` resumes after that position: what was missed, nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from opentelemetry.trace import SpanKind
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Message, Receive, Scope, Send

from verbinding_common.auth import Role, allow
from verbinding_common.contracts.shelter import Programme
from verbinding_common.errors import Unavailable
from verbinding_common.routes import PublicRoute
from verbinding_common.streaming import chunks_direct
from verbinding_common.telemetry import get_tracer

from ..metrics import sse_clients
from .feed import CapacityFeed, Change
from .models import CapacityChange

router = APIRouter(route_class=PublicRoute, tags=["shelter capacity"])
tracer = get_tracer(__name__)


class EventStream(EventSourceResponse):
    """sse-starlette's response (heartbeats, a send timeout, disconnects), its events straight to the server: the
    middlewares see its start and its end, not each event to each client (verbinding_common.streaming).

    The send timeout is armed on heartbeats only, not on every event: an event's send waits only when the client
    stopped reading, and then so does the next heartbeat, which times out after `send_timeout` and ends the stream
    (a stalled client is let go within heartbeat + send timeout). A timer armed and disarmed for every event to
    every client was a fifth of the hub's CPU with 200 streams.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, chunks_direct(scope, send))

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        if message["type"] != "http.response.body" or not message.get("more_body") or \
                message.get("body", b"")[:1] == b":":  # the start, the end, a heartbeat (a comment line)
            await super()._send_with_timeout(send, message)
            return
        try:
            await send(message)
        except BaseException:
            self._send_interrupted = True
            raise


class StreamFilter:
    def __init__(self, programmes: list[Programme], shelter_ids: list[UUID]) -> None:
        self.programmes = {p.value for p in programmes}
        self.shelter_ids = set(shelter_ids)

    def passes(self, change: Change) -> bool:
        return (not self.programmes or change.programme in self.programmes) and \
            (not self.shelter_ids or change.shelter_id in self.shelter_ids)


async def snapshot(sessionmaker: async_sessionmaker[AsyncSession], wanted: StreamFilter) -> tuple[int, list[dict]]:
    """(the log position it is current as of, the latest change of every shelter that passes the filter)."""
    async with sessionmaker() as session, session.begin():
        position = await session.scalar(select(func.coalesce(func.max(CapacityChange.position), 0)))
        rows = await session.scalars(
            select(CapacityChange).where(CapacityChange.position <= position)
            .ext(distinct_on(CapacityChange.shelter_id))
            .order_by(CapacityChange.shelter_id, CapacityChange.position.desc()))
        latest = [Change.of(row) for row in rows]
    return position, [change.data for change in latest if wanted.passes(change)]


@router.get("/stream", summary="Server-sent events: every shelter's free places, live",
            dependencies=[Depends(allow(Role.ngo_partner, Role.programme_coordinator, Role.ops, ticket=True))],
            response_class=EventStream,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`snapshot` first (unless resuming), then `capacity` events; the id is "
                                            "the change's log position, for `Last-Event-ID`"}})
async def capacity_stream(
        request: Request,
        programme: Annotated[list[Programme], Query(max_length=3)] = [],  # noqa: B006 (FastAPI copies defaults)
        shelter_id: Annotated[list[UUID], Query(max_length=200)] = [],  # noqa: B006
        last_event_id: Annotated[int | None, Header(ge=0, le=2**62)] = None) -> EventStream:
    feed: CapacityFeed = request.app.state.capacity_feed
    if not feed.running:  # starting, stopping or waiting out an outage: no feed to follow
        raise Unavailable("the capacity feed is not running; try again shortly")
    settings = request.app.state.settings
    wanted = StreamFilter(programme, shelter_id)

    async def events() -> AsyncIterator[ServerSentEvent | bytes]:
        sse_clients.add(1)
        try:
            position = last_event_id
            if position is None:
                position, shelters = await snapshot(request.app.state.sessionmaker, wanted)
                yield ServerSentEvent(data=json.dumps(shelters), event="snapshot", id=str(position))
            while True:
                changes = await feed.changes_after(position)
                passing = [change for change in changes if wanted.passes(change)]
                for change in passing:
                    if change.first_streamed():
                        # One span per change in this process, not one per client: the change's trace shows it
                        # reached the streams, and a thousand clients do not make a thousand spans a change.
                        tracer.start_span("sse write", context=change.trace_context, kind=SpanKind.PRODUCER,
                                          attributes={"sse.event_id": change.position}).end()
                if passing:  # what one wake-up found goes out in one write, not one per change
                    yield b"".join(change.sse_bytes for change in passing)
                if changes:
                    position = changes[-1].position
                else:
                    # Without a timer: the heartbeat keeps the connection alive, and a client gone cancels this.
                    await feed.wait_beyond(position, None)
        finally:
            sse_clients.add(-1)

    return EventStream(events(), ping=settings.sse_heartbeat_s, send_timeout=settings.sse_send_timeout_s)
