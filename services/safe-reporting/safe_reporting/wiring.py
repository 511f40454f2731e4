"""What safe-reporting's app holds beside the shared plumbing: its keys and guess budget, and its scheduled jobs."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from verbinding_common.limits import SharedLimits, purging

from . import jobs
from .reports.sealing import Keyring
from .reports.service import Secrets
from .reports.throttle import GuessThrottle
from .settings import SafeReportingSettings


def setup(app: FastAPI) -> None:
    """The keys only this service holds, and the city-wide guess budget (in the database: every replica spends the
    same one)."""
    settings: SafeReportingSettings = app.state.settings
    keys = {settings.report_key_id: settings.report_key_bytes()[:32]}
    keys.update({kid: base64.b64decode(value.get_secret_value())[:32]
                 for kid, value in settings.previous_report_keys.items()})
    app.state.report_secrets = Secrets(keyring=Keyring(keys=keys, current=settings.report_key_id),
                                       pepper=settings.receipt_pepper_bytes())
    app.state.shared_limits = SharedLimits.on(settings.database_url)
    app.state.guess_throttle = GuessThrottle(limits=app.state.shared_limits,
                                             failures_per_window=settings.receipt_failures_per_window,
                                             window_s=settings.receipt_window_s)


@contextlib.asynccontextmanager
async def scheduled_jobs(app: FastAPI) -> AsyncIterator[None]:
    """Publish changed weekly statistics, purge closed reports past retention and spent guess windows, each on its
    own interval."""
    settings: SafeReportingSettings = app.state.settings
    sessionmaker = app.state.sessionmaker
    tasks = [
        asyncio.create_task(jobs.every(settings.statistics_interval_s,
                                       lambda: jobs.publish_statistics(sessionmaker, settings), "statistics")),
        asyncio.create_task(jobs.every(settings.purge_interval_s, lambda: jobs.purge(sessionmaker, settings), "purge")),
    ]
    try:
        async with purging(app.state.shared_limits):
            yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
