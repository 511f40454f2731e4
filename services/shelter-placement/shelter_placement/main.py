"""The shelter-placement app: `app` for uvicorn (settings from VERBINDING_* variables), `create_app` for tests."""

from __future__ import annotations

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from .metrics import shelter_gauges
from .placements.views import router as placements_router
from .placements.warnings import stay_warnings
from .residents.views import router as residents_router
from .settings import ShelterPlacementSettings
from .shelters.views import router as shelters_router


def create_app(settings: ShelterPlacementSettings | None = None) -> FastAPI:
    """Shelter-placement on the shared plumbing; builds objects only, connects to nothing until its lifespan starts."""
    settings = settings or ShelterPlacementSettings()
    return create_service_app(
        settings=settings,
        title="shelter-placement",
        description="Programmes, shelters run by NGOs, residents (pseudonymous), placements and the waitlist.",
        routers=[shelters_router, residents_router, placements_router],
        jobs=[stay_warnings(settings), shelter_gauges],
    )


app = create_app()
