"""The capacity log's in-process feed: wakes webhook delivery and server-sent-event streams as soon as the
consumer's new changes commit (`CAPACITY_LOGGED`), or another replica's (by polling); the `capacity-feed` job."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from uuid import UUID

from opentelemetry.context import Context
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import ServerSentEvent

from verbinding_common.contracts.shelter import ShelterCapacityChanged
from verbinding_common.jobs import CommitSignal, Job, JobContext
from verbinding_common.telemetry import context_from_traceparent

from .models import CapacityChange

# Marked where the consumer appends changes: its commit wakes this process's feed at once.
CAPACITY_LOGGED = CommitSignal("capacity-log")
# A worker that failed (not an outage: those are retried within seconds) is started again this much later.
WORKER_RESTART_S = 5.0


@dataclass(frozen=True)
class Change:
    """One row of the capacity log, as streams and webhooks send it."""

    position: int
    event_id: str
    shelter_id: UUID
    programme: str
    data: dict[str, Any]
    traceparent: str | None

    @cached_property
    def json(self) -> str:
        """The change's data as JSON: made once, however many streams send it."""
        return json.dumps(self.data, separators=(",", ":"))

    @cached_property
    def webhook_body(self) -> str:
        """The webhook payload (Standard Webhooks' type/timestamp/data): made once for every endpoint."""
        return json.dumps({"type": ShelterCapacityChanged.event_type, "timestamp": self.data.get("changed_at"),
                           "data": self.data}, separators=(",", ":"))

    @cached_property
    def sse_bytes(self) -> bytes:
        """The `capacity` server-sent event, encoded once for every stream that sends it."""
        return ServerSentEvent(data=self.json, event="capacity", id=str(self.position)).encode()

    @cached_property
    def trace_context(self) -> Context:
        """The change's trace (its publish span), parsed once for every delivery and stream write."""
        return context_from_traceparent(self.traceparent)

    @cached_property
    def webhook_bytes(self) -> bytes:
        return self.webhook_body.encode()

    def first_streamed(self) -> bool:
        """True the first time a stream of this process writes the change (the one that makes its span)."""
        if "_streamed" in self.__dict__:
            return False
        self.__dict__["_streamed"] = True
        return True

    @classmethod
    def of(cls, row: CapacityChange) -> Change:
        return cls(position=row.position, event_id=row.event_id, shelter_id=row.shelter_id, programme=row.programme,
                   data=row.data, traceparent=row.traceparent)


class CapacityFeed:
    """Tails the capacity log: keeps the latest changes in memory and wakes whoever waits for a new one.

    Made once per app (`setup`); `follow()` tails while the `capacity-feed` job runs it, woken at once by this
    process's consumer commits and by polling for changes other replicas logged. Readers never block it: each waits
    on its own, and one that fell behind the memory reads the database. A reader finds its place by bisection, so a
    thousand readers cost the feed no more than one each.
    """

    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], poll_interval_s: float,
                 memory: int) -> None:
        self.sessionmaker = sessionmaker
        self.poll_interval_s = poll_interval_s
        self.memory = memory
        self.recent: list[Change] = []
        self._positions: list[int] = []
        self.last_position = 0
        self._loaded_from = 0
        self._new = asyncio.Event()
        self._ready = False
        self.running = False

    async def follow(self) -> None:
        """Tail the log until cancelled. A failure (the database away) ends it: the job starts it again, and what
        it remembered stays valid, so it goes on from the last change it loaded."""
        wakeup = asyncio.Event()
        stop_waking = CAPACITY_LOGGED.wakes(wakeup)  # before looking for the end: no commit slips in between
        self.running = True
        try:
            if not self._ready:
                await self._find_the_end()
            while True:
                await self._load()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), self.poll_interval_s)
                wakeup.clear()
        finally:
            self.running = False
            stop_waking()

    async def _find_the_end(self) -> None:
        async with self.sessionmaker() as session:
            self.last_position = await session.scalar(select(func.coalesce(func.max(CapacityChange.position), 0)))
        self._loaded_from = self.last_position
        self._ready = True

    def after(self, position: int) -> list[Change] | None:
        """The changes after `position` from memory, or None when memory no longer reaches back that far."""
        if not self._ready:
            return None
        floor = self._loaded_from
        if position < floor:
            return None
        return self.recent[bisect.bisect_right(self._positions, position):]

    async def changes_after(self, position: int, *, limit: int = 1000) -> Sequence[Change]:
        """The changes after `position`, from memory when it reaches back, else from the database."""
        remembered = self.after(position)
        if remembered is not None:
            return remembered[:limit]
        async with self.sessionmaker() as session:
            rows = await session.scalars(select(CapacityChange).where(CapacityChange.position > position)
                                         .order_by(CapacityChange.position).limit(limit))
            return [Change.of(row) for row in rows]

    async def wait_beyond(self, position: int, timeout: float | None) -> None:
        """Return once a change after `position` is known, or after `timeout` seconds (None: no timer to arm and
        disarm on every wait, which a thousand streams would do for every change)."""
        if self.last_position > position:
            return
        new = self._new
        if timeout is None:
            await new.wait()
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await new.wait()

    def _remember(self, changes: list[Change]) -> None:
        """Append in position order; past twice the memory, forget the oldest half (new lists: readers holding a
        slice keep theirs)."""
        recent, positions = self.recent + changes, self._positions + [change.position for change in changes]
        if len(recent) > 2 * self.memory:
            recent, positions = recent[-self.memory:], positions[-self.memory:]
            self._loaded_from = recent[0].position - 1
        self.recent, self._positions = recent, positions
        self.last_position = changes[-1].position

    async def _load(self) -> None:
        while True:
            async with self.sessionmaker() as session:
                rows = list(await session.scalars(
                    select(CapacityChange).where(CapacityChange.position > self.last_position)
                    .order_by(CapacityChange.position).limit(1000)))
            if not rows:
                return
            self._remember([Change.of(row) for row in rows])
            self._new.set()
            self._new = asyncio.Event()
            if len(rows) < 1000:
                return


def capacity_feed() -> Job:
    """The feed (`app.state.capacity_feed`) tails the log for as long as the hub runs."""

    async def follow(context: JobContext) -> None:
        await context.state.capacity_feed.follow()

    return Job(name="capacity-feed", run=follow, interval_s=WORKER_RESTART_S)
