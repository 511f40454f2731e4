"""What the hub's app holds beside the shared plumbing: the key that opens webhook secrets, and the capacity feed
that streams and webhook delivery follow (its `capacity-feed` job tails the log, on the background pool: its polls are
not bounded as a request's are)."""

from __future__ import annotations

from fastapi import FastAPI

from verbinding_common.sealing import Keyring

from .changes.feed import CapacityFeed
from .settings import CapacityHubSettings


def setup(app: FastAPI) -> None:
    """The keyring of webhook secrets (refuses to build without a key outside development and tests), and the feed."""
    settings: CapacityHubSettings = app.state.settings
    app.state.webhook_keyring = Keyring(keys=settings.webhook_secret_keys(), current=settings.webhook_secret_key_id)
    app.state.capacity_feed = CapacityFeed(sessionmaker=app.state.runtime.sessionmaker,
                                           poll_interval_s=settings.capacity_feed_poll_interval_s,
                                           memory=settings.capacity_feed_memory)
