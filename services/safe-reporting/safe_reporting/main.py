"""The safe-reporting app: `app` for uvicorn (settings from VERBINDING_* variables), `create_app` for tests."""

from __future__ import annotations

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from . import jobs
from .reports.views import hub, reporter
from .settings import SafeReportingSettings
from .statistics.views import router as statistics_router
from .wiring import lifespan, setup


def create_app(settings: SafeReportingSettings | None = None) -> FastAPI:
    """Safe-reporting on the shared plumbing; builds objects only, connects to nothing until its lifespan starts."""
    settings = settings or SafeReportingSettings()
    return create_service_app(
        settings=settings,
        title="safe-reporting",
        description="Free in, Free out: anonymous crime reports by victims and witnesses, followed up by receipt; "
                    "hub counsellors; referrals only with consent; nothing leaves but anonymous weekly counts.",
        routers=[reporter, hub, statistics_router],
        jobs=jobs.scheduled(settings),
        setup=setup,
        lifespan=lifespan,
    )


app = create_app()
