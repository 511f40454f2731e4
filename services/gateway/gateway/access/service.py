"""Checking client credentials and demo users' passwords against the configured hashes, and throttling failures."""

from __future__ import annotations

import asyncio
from typing import Literal

from limits import parse

from verbinding_common.auth import Identity
from verbinding_common.credentials import DEFAULT_ITERATIONS, dummy_hash, iterations_of, verify_secret
from verbinding_common.limits import SharedLimits, SlidingWindow, fail_open, keyed

from ..settings import ClientConfig, DemoUserConfig

THROTTLE = "token-failure throttle"


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

    async def authenticate(self, kind: Literal["client", "user"], name: str, secret: str) -> Identity | None:
        """The client's (or demo user's) identity when its secret matches, else None (an unknown name costs as much
        as a wrong secret)."""
        if kind == "client":
            known: ClientConfig | DemoUserConfig | None = self.clients.get(name)
            stored = known.secret_hash if known else self.unknown_client_hash
        else:
            known = self.demo_users.get(name)
            stored = known.password_hash if known else self.unknown_user_hash
        matches = await asyncio.to_thread(verify_secret, secret, stored)
        if known is None or not matches:
            return None
        return Identity(subject=name, kind=kind, roles=known.roles, organisation=known.organisation,
                        team=getattr(known, "team", None), name=known.name)


def _cost(hashes: list[str]) -> int:
    return max((iterations_of(encoded) for encoded in hashes), default=DEFAULT_ITERATIONS)


class FailureThrottle:
    """Counts failed token requests per client id and per user name in a moving window that every gateway replica
    shares (the gateway's database) and a restart keeps. Names are stored only as keyed hashes."""

    def __init__(self, *, limits: SharedLimits, secret: bytes, limit: str) -> None:
        item = parse(limit)
        self.window = SlidingWindow("token-failures", limit=item.amount, window_s=float(item.get_expiry()))
        self._limits = limits
        self._secret = secret

    def _buckets(self, keys: tuple[tuple[str, str], ...]) -> list[str]:
        return [keyed(self._secret, kind, name) for kind, name in keys]

    # Fails open: when the database cannot answer, a token request is checked without the throttle. Issuing a token
    # needs no database, so failing closed would turn a database outage into every client's outage; the secrets
    # guarded are long random ones, and each wrong one still costs a full PBKDF2 hash.
    async def retry_after(self, *keys: tuple[str, str]) -> int | None:
        """Seconds until the first of `keys` ((kind, name) pairs) may try again; None when none is throttled."""
        return await fail_open(self._limits.wait_s(self.window, *self._buckets(keys)), 0, THROTTLE) or None

    async def failed(self, *keys: tuple[str, str]) -> None:
        await fail_open(self._limits.hit(self.window, *self._buckets(keys)), set(), THROTTLE)
