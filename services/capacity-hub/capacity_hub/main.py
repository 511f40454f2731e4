"""The capacity hub's app: `app` for uvicorn (settings from VERBINDING_* variables), `create_app` for tests."""

from __future__ import annotations

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from .changes.consumers import capacity_changes
from .changes.stream import router as stream_router
from .settings import CapacityHubSettings
from .webhooks.views import router as webhooks_router
from .wiring import running, setup


def create_app(settings: CapacityHubSettings | None = None) -> FastAPI:
    """The capacity hub on the shared plumbing; builds objects only, connects to nothing until its lifespan starts."""
    return create_service_app(
        settings=settings or CapacityHubSettings(),
        title="capacity-hub",
        description="Shelter capacity to NGO systems: every change of `shelter.capacity.v1` as signed webhooks "
                    "(Standard Webhooks, in order per endpoint, retried, replayable) and server-sent events.",
        routers=[stream_router, webhooks_router],
        consumers=[capacity_changes],
        setup=setup,
        lifespan=running,
    )


app = create_app()
