"""How the gateway app takes on capacity delivery: routes, the consumer, and the background parts' lifetime."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from . import stream, views
from .consumers import capacity_changes
from .delivery import DeliveryWorker
from .feed import CapacityFeed
from .settings import SubscriptionSettings
from .targets import webhook_client

# The stream's path must come before shelter routes with a path parameter.
routers = [stream.router, views.router]
consumers = [capacity_changes]


@contextlib.asynccontextmanager
async def running(app: FastAPI, settings: SubscriptionSettings) -> AsyncIterator[None]:
    """The capacity feed and webhook delivery, for as long as the app runs (after its consumers started)."""
    feed = CapacityFeed(sessionmaker=app.state.sessionmaker, poll_interval_s=settings.capacity_feed_poll_interval_s,
                        memory=settings.capacity_feed_memory)
    await feed.start()
    async with webhook_client(timeout_s=settings.webhook_timeout_s, max_connections=settings.webhook_concurrency,
                              insecure_allowed=settings.insecure_webhook_targets) as http:
        worker = DeliveryWorker(sessionmaker=app.state.sessionmaker, settings=settings, feed=feed, http=http)
        app.state.capacity_feed, app.state.webhook_delivery = feed, worker
        worker.start()
        try:
            yield
        finally:
            await worker.stop()
            await feed.stop()
