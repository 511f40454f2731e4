"""What the hub's app holds beside the shared plumbing: the key that opens webhook secrets, and, for as long as it
runs, the capacity feed, webhook delivery and the retention purge."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from .changes.feed import CapacityFeed
from .changes.retention import RetentionPurge
from .settings import CapacityHubSettings
from .webhooks.delivery import DeliveryWorker
from .webhooks.sealing import Keyring


def setup(app: FastAPI) -> None:
    """The keyring of webhook secrets (refuses to build without a key outside development and tests)."""
    settings: CapacityHubSettings = app.state.settings
    app.state.webhook_keyring = Keyring(keys=settings.webhook_secret_keys(), current=settings.webhook_secret_key_id)


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """The capacity feed, webhook delivery and retention, after the consumer started, stopped before it stops."""
    settings: CapacityHubSettings = app.state.settings
    feed = CapacityFeed(sessionmaker=app.state.sessionmaker, poll_interval_s=settings.capacity_feed_poll_interval_s,
                        memory=settings.capacity_feed_memory)
    await feed.start()
    retention = RetentionPurge(sessionmaker=app.state.sessionmaker, settings=settings)
    # Webhooks go out through a guarded transport per endpoint (no redirects are followed: a transport does not).
    worker = DeliveryWorker(sessionmaker=app.state.sessionmaker, settings=settings, feed=feed,
                            keyring=app.state.webhook_keyring)
    app.state.capacity_feed, app.state.webhook_delivery = feed, worker
    worker.start()
    retention.start()
    try:
        yield
    finally:
        await retention.stop()
        await worker.stop()
        await feed.stop()
