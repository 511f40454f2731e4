"""What safe-reporting's app holds beside the shared plumbing: its keys and guess budget, and its scheduled jobs."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from . import jobs
from .reports.sealing import Keyring
from .reports.service import Secrets
from .reports.throttle import GuessThrottle
from .settings import SafeReportingSettings


def setup(app: FastAPI) -> None:
    """The keys only this service holds, and the city-wide guess budget (memory only)."""
    settings: SafeReportingSettings = app.state.settings
    keys = {settings.report_key_id: settings.report_key_bytes()[:32]}
    keys.update({kid: base64.b64decode(value.get_secret_value())[:32]
                 for kid, value in settings.previous_report_keys.items()})
    app.state.report_secrets = Secrets(keyring=Keyring(keys=keys, current=settings.report_key_id),
                                       pepper=settings.receipt_pepper_bytes())
    app.state.guess_throttle = GuessThrottle(failures_per_window=settings.receipt_failures_per_window,
                                             window_s=settings.receipt_window_s)


@contextlib.asynccontextmanager
async def scheduled_jobs(app: FastAPI) -> AsyncIterator[None]:
    """Publish changed weekly statistics and purge closed reports past retention, each on its own interval."""
    settings: SafeReportingSettings = app.state.settings
    sessionmaker = app.state.sessionmaker
    tasks = [
        asyncio.create_task(jobs.every(settings.statistics_interval_s,
                                       lambda: jobs.publish_statistics(sessionmaker, settings), "statistics")),
        asyncio.create_task(jobs.every(settings.purge_interval_s, lambda: jobs.purge(sessionmaker, settings), "purge")),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
