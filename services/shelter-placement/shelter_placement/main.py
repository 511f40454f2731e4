"""The shelter-placement app: `app` for uvicorn (settings from VERBINDING_* variables), `create_app` for tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from .placements.views import router as placements_router
from .placements.warnings import WarningJob
from .residents.views import router as residents_router
from .settings import ShelterPlacementSettings
from .shelters.views import router as shelters_router


@contextlib.asynccontextmanager
async def stay_warnings(app: FastAPI) -> AsyncIterator[None]:
    """The job that fires each stay's warning when it comes due (stored rows: once each, across restarts)."""
    app.state.warning_job = WarningJob(sessionmaker=app.state.sessionmaker,
                                       interval_s=app.state.settings.stay_warning_check_interval_s)
    app.state.warning_job.start()
    try:
        yield
    finally:
        await app.state.warning_job.stop()


def create_app(settings: ShelterPlacementSettings | None = None) -> FastAPI:
    """Shelter-placement on the shared plumbing; builds objects only, connects to nothing until its lifespan starts."""
    return create_service_app(
        settings=settings or ShelterPlacementSettings(),
        title="shelter-placement",
        description="Programmes, shelters run by NGOs, residents (pseudonymous), placements and the waitlist.",
        routers=[shelters_router, residents_router, placements_router],
        lifespan=stay_warnings,
    )


app = create_app()
