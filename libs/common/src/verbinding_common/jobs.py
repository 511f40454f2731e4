"""Background work a service runs beside its routes: periodic jobs and long-running workers (`Job`), started and
stopped by the app factory, and the after-commit signal that wakes a waiting worker (`CommitSignal`)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from .failures import outage_of, safe_description

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from .settings import ServiceSettings

log = logging.getLogger(__name__)

# While its database or broker is down a job tries again this soon, doubling up to the cap (or its interval).
OUTAGE_RETRY_S = 0.5
OUTAGE_RETRY_MAX_S = 30.0


@dataclass(frozen=True)
class JobContext:
    """What a job's run may use: the service's settings, its database, and `state` (the app's: what `setup` and the
    service's `lifespan` put there, e.g. an HTTP client or the shared limits)."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    state: Any


@dataclass(frozen=True)
class Job:
    """Run `run(context)` `initial_delay_s` after start-up, then again `interval_s` (plus up to `jitter_s`) after each
    run ends, until the app stops.

    A failed run is logged by its type and where it was raised (never its values) and tried again at the next
    interval; an outage (database or broker, `failures.outage_of`) is tried again within seconds until it is over.
    A long-running worker is a job whose run does not return (it waits for work itself, e.g. on a `CommitSignal`):
    should it fail or return, it is started again `interval_s` later.
    """

    name: str
    run: Callable[[JobContext], Awaitable[object]]
    interval_s: float
    initial_delay_s: float = 0.0
    jitter_s: float = 0.0

    def __post_init__(self) -> None:
        if self.interval_s <= 0 or self.initial_delay_s < 0 or self.jitter_s < 0:
            raise ValueError(f"job {self.name}: interval_s must be > 0, initial_delay_s and jitter_s >= 0")


@dataclass
class JobStatus:
    """What operators see of a job (in /readyz's `jobs`): when it last succeeded, and the type of its last failure."""

    last_success_at: datetime | None = None
    last_failure: str | None = None
    waiting_on: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
                "last_failure": self.last_failure, "waiting_on": self.waiting_on}


@dataclass
class JobRunner:
    """Runs each job in a task of its own: one failing, slow or waiting job never holds up another."""

    jobs: Sequence[Job]
    statuses: dict[str, JobStatus] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        names = [job.name for job in self.jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        self.statuses = {name: JobStatus() for name in names}

    def start(self, context: JobContext) -> None:
        self._tasks = [asyncio.create_task(self._loop(job, context), name=f"job-{job.name}") for job in self.jobs]

    async def stop(self, *, within_s: float) -> None:
        """Cancel every job (a run in flight rolls back) and wait for them, at most `within_s` seconds."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=within_s)
        for task in pending:
            log.warning("%s did not stop within %.1f s; left behind", task.get_name(), within_s)

    async def _loop(self, job: Job, context: JobContext) -> None:
        status = self.statuses[job.name]
        await asyncio.sleep(job.initial_delay_s + random.uniform(0, job.jitter_s))
        retry_s = OUTAGE_RETRY_S
        while True:
            try:
                await job.run(context)
            except Exception as exc:
                status.last_failure = type(exc).__name__
                outage = outage_of(exc)
                if outage is not None:
                    if status.waiting_on is None:
                        log.warning("job %s: waiting on the %s (%s)", job.name, outage, status.last_failure)
                    status.waiting_on = outage
                    await asyncio.sleep(min(retry_s, job.interval_s))
                    retry_s = min(retry_s * 2, OUTAGE_RETRY_MAX_S)
                    continue
                status.waiting_on = None
                log.warning("job %s failed (%s); next run in %.0f s", job.name, safe_description(exc), job.interval_s)
            else:
                if status.waiting_on is not None:
                    log.info("job %s: the %s is back", job.name, status.waiting_on)
                status.waiting_on = None
                status.last_success_at = datetime.now(UTC)
            retry_s = OUTAGE_RETRY_S
            await asyncio.sleep(job.interval_s + random.uniform(0, job.jitter_s))


class CommitSignal:
    """Wakes waiting workers in this process as soon as a transaction that `mark`ed its session commits (a rollback
    forgets the mark); workers in other processes find the same rows by polling.

    Declare one per kind of work at module level (`OUTBOX_STAGED = CommitSignal("outbox")`), `mark(session)` where
    the work is written, and let the worker wait on an event it `wakes`:

        wakeup = asyncio.Event()
        stop_waking = SIGNAL.wakes(wakeup)      # in the worker's job run, on its event loop
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), poll_interval_s)
                wakeup.clear()
                ...                              # take the new work
        finally:
            stop_waking()
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._key = f"verbinding_commit_signal_{name}"
        self._callbacks: list[Callable[[], None]] = []
        _SIGNALS.append(self)

    def mark(self, session: Session | AsyncSession) -> None:
        """Wake this signal's listeners once `session`'s transaction commits."""
        getattr(session, "sync_session", session).info[self._key] = True

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` after each marked commit (inside the commit: keep it tiny); returns the unsubscribe."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def wakes(self, wakeup: asyncio.Event) -> Callable[[], None]:
        """Set `wakeup` (on the running event loop, from whichever thread commits) after each marked commit."""
        loop = asyncio.get_running_loop()
        return self.subscribe(lambda: loop.call_soon_threadsafe(wakeup.set))

    def _committed(self, session: Session) -> None:
        if session.info.pop(self._key, False):
            for callback in list(self._callbacks):
                callback()


_SIGNALS: list[CommitSignal] = []


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    for signal in list(_SIGNALS):
        signal._committed(session)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    for signal in list(_SIGNALS):
        session.info.pop(signal._key, None)
