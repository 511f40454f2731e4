"""Checking client credentials and demo users' passwords against the configured hashes, and throttling failures."""

from __future__ import annotations

import asyncio
import math
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from verbinding_common.auth import Identity

from ..settings import ClientConfig, DemoUserConfig
from .credentials import DEFAULT_ITERATIONS, dummy_hash, iterations_of, verify_secret


class CredentialStore:
    """The configured clients and demo users, by id, and for each kind a hash an unknown name is checked against.

    The unknown name's hash has the same cost as the configured ones, so a wrong name takes as long as a wrong
    secret and names cannot be told apart by timing.
    """

    def __init__(self, *, clients: list[ClientConfig], demo_users: list[DemoUserConfig]) -> None:
        self.clients = {client.client_id: client for client in clients}
        self.demo_users = {user.username: user for user in demo_users}
        self.unknown_client_hash = dummy_hash(_cost([client.secret_hash for client in clients]))
        self.unknown_user_hash = dummy_hash(_cost([user.password_hash for user in demo_users]))


def _cost(hashes: list[str]) -> int:
    return max((iterations_of(encoded) for encoded in hashes), default=DEFAULT_ITERATIONS)


async def authenticate_client(*, store: CredentialStore, client_id: str, client_secret: str) -> Identity | None:
    """The client's identity when its secret matches, else None (an unknown id costs as much as a wrong secret)."""
    client = store.clients.get(client_id)
    stored = client.secret_hash if client else store.unknown_client_hash
    matches = await asyncio.to_thread(verify_secret, client_secret, stored)
    if client is None or not matches:
        return None
    return Identity(subject=client.client_id, kind="client", roles=client.roles, organisation=client.organisation,
                    name=client.name)


async def authenticate_user(*, store: CredentialStore, username: str, password: str) -> Identity | None:
    """A demo user's identity when the password matches, else None (an unknown name costs as much)."""
    user = store.demo_users.get(username)
    stored = user.password_hash if user else store.unknown_user_hash
    matches = await asyncio.to_thread(verify_secret, password, stored)
    if user is None or not matches:
        return None
    return Identity(subject=user.username, kind="user", roles=user.roles, organisation=user.organisation,
                    team=user.team, name=user.name)


class FailureThrottle:
    """Counts failed token requests per client id and per user name in a moving window (one gateway process)."""

    def __init__(self, limit: str) -> None:
        self.limit = parse(limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, *keys: tuple[str, str]) -> int | None:
        """Seconds until the first of `keys` ((kind, name) pairs) may try again; None when none is throttled."""
        waits = [self._limiter.get_window_stats(self.limit, *key).reset_time - time.time()
                 for key in keys if not self._limiter.test(self.limit, *key)]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, *keys: tuple[str, str]) -> None:
        for key in keys:
            self._limiter.hit(self.limit, *key)
