"""The gateway app: `app` for uvicorn (settings from VERBINDING_* variables), `create_app` for tests."""

from fastapi import FastAPI

from verbinding_common.app import create_service_app

from . import app as gateway
from .settings import GatewaySettings


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """The gateway on the shared plumbing; builds objects only, connects to nothing until its lifespan starts."""
    settings = settings or GatewaySettings()
    return create_service_app(
        settings=settings,
        title="Verbinding gateway",
        description=gateway.description(settings),
        routers=gateway.routers(settings),
        jobs=gateway.jobs(settings),
        setup=gateway.setup,
        lifespan=gateway.lifespan_of(settings),
    )


app = create_app()
