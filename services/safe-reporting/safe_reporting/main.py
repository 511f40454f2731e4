"""The safe-reporting app: `app` for the stack (settings from VERBINDING_* variables), `create_app` for tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from . import jobs
from .errors import SafeReportingError, safe_reporting_error_response
from .reports.sealing import Keyring
from .reports.service import Secrets
from .reports.throttle import GuessThrottle
from .reports.views import hub, reporter
from .settings import SafeReportingSettings
from .statistics.views import router as statistics_router


def create_app(settings: SafeReportingSettings) -> FastAPI:
    app = create_service_app(
        settings=settings, title="safe-reporting",
        description="Free in, Free out: anonymous crime reports by victims and witnesses, followed up by receipt; "
                    "hub counsellors; referrals only with consent; nothing leaves but anonymous weekly counts.",
        routers=[reporter, hub, statistics_router])
    app.add_exception_handler(SafeReportingError, safe_reporting_error_response)
    keys = {settings.report_key_id: settings.report_key_bytes()[:32]}
    keys.update({kid: base64.b64decode(value.get_secret_value())[:32]
                 for kid, value in settings.previous_report_keys.items()})
    app.state.report_secrets = Secrets(keyring=Keyring(keys=keys, current=settings.report_key_id),
                                       pepper=settings.receipt_pepper_bytes())
    app.state.guess_throttle = GuessThrottle(failures_per_window=settings.receipt_failures_per_window,
                                             window_s=settings.receipt_window_s)
    service_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_lifespan(app):
            sessionmaker = app.state.sessionmaker
            tasks = [
                asyncio.create_task(jobs.every(settings.statistics_interval_s,
                                               lambda: jobs.publish_statistics(sessionmaker, settings), "statistics")),
                asyncio.create_task(jobs.every(settings.purge_interval_s,
                                               lambda: jobs.purge(sessionmaker, settings), "purge")),
            ]
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    app.router.lifespan_context = lifespan
    return app


app = create_app(SafeReportingSettings())
