"""The capacity hub's app: `app` for uvicorn (settings from VERBINDING_* variables), `create_app` for tests."""

from __future__ import annotations

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from .changes.consumers import capacity_changes
from .changes.feed import capacity_feed
from .changes.retention import capacity_retention
from .changes.stream import router as stream_router
from .metrics import endpoint_gauges
from .settings import CapacityHubSettings
from .webhooks.delivery import webhook_delivery
from .webhooks.views import router as webhooks_router
from .wiring import setup


def create_app(settings: CapacityHubSettings | None = None) -> FastAPI:
    """The capacity hub on the shared plumbing; builds objects only, connects to nothing until its lifespan starts."""
    settings = settings or CapacityHubSettings()
    return create_service_app(
        settings=settings,
        title="capacity-hub",
        description="Shelter capacity to NGO systems: every change of `shelter.capacity.v1` as signed webhooks "
                    "(Standard Webhooks, in order per endpoint, retried, replayable) and server-sent events.",
        routers=[stream_router, webhooks_router],
        consumers=[capacity_changes],
        jobs=[capacity_feed(), webhook_delivery(settings), capacity_retention(settings), endpoint_gauges],
        setup=setup,
    )


app = create_app()
