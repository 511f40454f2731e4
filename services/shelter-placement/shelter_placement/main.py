"""The shelter-placement app: `app` for the stack (settings from VERBINDING_* variables), `create_app` for tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from .errors import ShelterPlacementError, shelter_placement_error_response
from .placements.views import router as placements_router
from .placements.warnings import WarningJob
from .residents.views import router as residents_router
from .settings import ShelterPlacementSettings
from .shelters.views import router as shelters_router


def create_app(settings: ShelterPlacementSettings) -> FastAPI:
    app = create_service_app(
        settings=settings, title="shelter-placement",
        description="Programmes, shelters run by NGOs, residents (pseudonymous), placements and the waitlist.",
        routers=[shelters_router, residents_router, placements_router])
    app.add_exception_handler(ShelterPlacementError, shelter_placement_error_response)
    service_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_lifespan(app):
            app.state.warning_job = WarningJob(sessionmaker=app.state.sessionmaker,
                                               interval_s=settings.stay_warning_check_interval_s)
            app.state.warning_job.start()
            try:
                yield
            finally:
                await app.state.warning_job.stop()

    app.router.lifespan_context = lifespan
    return app


app = create_app(ShelterPlacementSettings())
