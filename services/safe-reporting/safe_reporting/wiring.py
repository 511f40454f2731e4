"""What safe-reporting's app holds beside the shared plumbing: its keys and guess budget."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from verbinding_common.limits import SharedLimits

from .reports.admission import SubmissionGate
from .reports.service import Secrets
from .reports.throttle import GuessThrottle
from .settings import SafeReportingSettings


def setup(app: FastAPI) -> None:
    """The keys only this service holds, the per-prefix guess budget (in the database: every replica spends the
    same one) and the gate that admits new reports a few at a time."""
    settings: SafeReportingSettings = app.state.settings
    app.state.report_secrets = Secrets(keyring=settings.report_keyring(), pepper=settings.receipt_pepper_bytes())
    app.state.shared_limits = SharedLimits.on(settings.database_url, timeout_s=settings.shared_limits_timeout_s)
    app.state.guess_throttle = GuessThrottle(limits=app.state.shared_limits,
                                             failures_per_window=settings.receipt_failures_per_window,
                                             window_s=settings.receipt_window_s,
                                             failures_per_day=settings.receipt_failures_per_day,
                                             pepper=app.state.report_secrets.pepper)
    app.state.submission_gate = SubmissionGate(limit=settings.report_submissions_in_flight)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The guess budget's own pool closes at shutdown (after the jobs, its purge among them, have stopped)."""
    async with contextlib.aclosing(app.state.shared_limits):
        yield
