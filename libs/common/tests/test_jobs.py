"""Periodic jobs: run at their interval, survive a failing run, wait out an outage, stop within the drain; the commit
signal wakes a worker only after a commit that marked it."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import pytest
from sqlalchemy import text

from verbinding_common.app import create_service_app, jobs_of
from verbinding_common.db import create_engine, create_sessionmaker
from verbinding_common.jobs import CommitSignal, Job, JobContext, JobRunner
from verbinding_testing.fixtures import KafkaServer, eventually, running_app, test_settings

CONTEXT = JobContext(settings=None, engine=None, sessionmaker=None, state=None)  # type: ignore[arg-type]


async def _stopped(runner: JobRunner) -> None:
    await runner.stop(within_s=1.0)


async def test_a_job_runs_at_once_and_then_at_its_interval() -> None:
    runs: list[float] = []

    async def count(context: JobContext) -> None:
        runs.append(time.monotonic())

    runner = JobRunner([Job(name="count", run=count, interval_s=0.1)])
    runner.start(CONTEXT)
    try:
        await eventually(lambda: _at_least(runs, 4), timeout=5, what="four runs")
    finally:
        await _stopped(runner)
    gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
    assert min(gaps) >= 0.09, "never sooner than the interval"
    assert runner.statuses["count"].last_success_at is not None


async def test_a_failing_run_is_logged_by_type_only_and_the_next_run_happens(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []

    async def fail_twice(context: JobContext) -> None:
        runs.append(1)
        if len(runs) <= 2:
            raise ValueError("resident 123-45-678 is not on the list")

    runner = JobRunner([Job(name="flaky", run=fail_twice, interval_s=0.05)])
    with caplog.at_level(logging.WARNING, logger="verbinding_common.jobs"):
        runner.start(CONTEXT)
        try:
            await eventually(lambda: _succeeded(runner, "flaky"), timeout=5, what="a run after two failures")
        finally:
            await _stopped(runner)
    status = runner.statuses["flaky"]
    assert status.last_failure == "ValueError" and status.waiting_on is None
    assert "job flaky failed (ValueError" in caplog.text
    assert "123-45-678" not in caplog.text, "a failure's values never reach the log"


async def test_an_outage_is_waited_out_within_seconds_not_a_whole_interval() -> None:
    runs: list[int] = []
    seen_waiting: list[str | None] = []

    async def database_down_twice(context: JobContext) -> None:
        runs.append(1)
        seen_waiting.append(runner.statuses["purge"].waiting_on)
        if len(runs) <= 2:
            raise ConnectionRefusedError("connect call failed")

    runner = JobRunner([Job(name="purge", run=database_down_twice, interval_s=3600)])
    runner.start(CONTEXT)
    try:
        await eventually(lambda: _succeeded(runner, "purge"), timeout=10, what="the run once the database is back")
    finally:
        await _stopped(runner)
    assert seen_waiting == [None, "database", "database"]
    assert runner.statuses["purge"].waiting_on is None


async def test_stop_cancels_a_run_in_flight_and_waits_no_longer_than_the_drain() -> None:
    cancelled: list[bool] = []

    async def forever(context: JobContext) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def stubborn(context: JobContext) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(30)  # ignores the first cancellation

    runner = JobRunner([Job(name="worker", run=forever, interval_s=1), Job(name="stubborn", run=stubborn,
                                                                         interval_s=1)])
    runner.start(CONTEXT)
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await runner.stop(within_s=0.3)
    assert time.monotonic() - started < 1.0
    assert cancelled == [True]
    for task in asyncio.all_tasks():
        if task.get_name() == "job-stubborn":
            task.cancel()


def test_a_job_needs_a_positive_interval_and_a_unique_name() -> None:
    async def nothing(context: JobContext) -> None:
        return None

    with pytest.raises(ValueError, match="interval_s"):
        Job(name="never", run=nothing, interval_s=0)
    with pytest.raises(ValueError, match="unique"):
        JobRunner([Job(name="twice", run=nothing, interval_s=1)] * 2)


async def test_the_app_runs_its_jobs_with_its_lifespan_and_shows_them_on_readyz(
        database_url: str, kafka_server: KafkaServer) -> None:
    seen: list[object] = []

    async def note(context: JobContext) -> None:
        async with context.sessionmaker() as session:
            seen.append(await session.scalar(text("SELECT 1")))

    settings = test_settings(database_url=database_url, bootstrap_servers=kafka_server.bootstrap_servers,
                             shutdown_drain_s=1.0)
    app = create_service_app(settings=settings, title="example", jobs=[Job(name="note", run=note, interval_s=0.05)])
    assert [job.name for job in jobs_of(app)] == ["idempotency-key-purge", "outbox-metrics", "note"]
    async with running_app(app) as client:
        await eventually(lambda: _at_least(seen, 2), timeout=20, what="two runs")
        jobs = (await client.get("/readyz")).json()["jobs"]
    assert jobs["note"]["last_success_at"] is not None and jobs["note"]["last_failure"] is None
    assert set(jobs) == {"idempotency-key-purge", "outbox-metrics", "note"}
    runs = len(seen)
    await asyncio.sleep(0.2)
    assert len(seen) == runs, "no run after shutdown"


async def test_a_commit_signal_wakes_after_a_marked_commit_only(database_url: str) -> None:
    signal = CommitSignal("test")
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    wakeup = asyncio.Event()
    stop_waking = signal.wakes(wakeup)
    try:
        async with sessionmaker() as session, session.begin():
            await session.execute(text("SELECT 1"))
        async with sessionmaker() as session:
            await session.begin()
            signal.mark(session)
            await session.execute(text("SELECT 1"))
            await session.rollback()
        await asyncio.sleep(0.05)
        assert not wakeup.is_set(), "neither an unmarked commit nor a rolled-back mark wakes"
        async with sessionmaker() as session, session.begin():
            signal.mark(session)
            await session.execute(text("SELECT 1"))
        await asyncio.wait_for(wakeup.wait(), 1.0)
    finally:
        stop_waking()
        await engine.dispose()


async def _at_least(items: list, count: int) -> bool:
    return len(items) >= count


async def _succeeded(runner: JobRunner, name: str) -> bool:
    return runner.statuses[name].last_success_at is not None
