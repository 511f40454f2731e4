"""Checking client credentials and demo users' passwords against the configured hashes."""

from __future__ import annotations

import asyncio

from verbinding_common.auth import Identity

from ..settings import ClientConfig, DemoUserConfig
from .credentials import DUMMY_HASH, verify_secret


class CredentialStore:
    """The configured clients and demo users, by id."""

    def __init__(self, *, clients: list[ClientConfig], demo_users: list[DemoUserConfig]) -> None:
        self.clients = {client.client_id: client for client in clients}
        self.demo_users = {user.username: user for user in demo_users}


async def authenticate_client(*, store: CredentialStore, client_id: str, client_secret: str) -> Identity | None:
    """The client's identity when its secret matches, else None (an unknown id costs as much as a wrong secret)."""
    client = store.clients.get(client_id)
    matches = await asyncio.to_thread(verify_secret, client_secret, client.secret_hash if client else DUMMY_HASH)
    if client is None or not matches:
        return None
    return Identity(subject=client.client_id, kind="client", roles=client.roles, organisation=client.organisation,
                    name=client.name)


async def authenticate_user(*, store: CredentialStore, username: str, password: str) -> Identity | None:
    """A demo user's identity when the password matches, else None."""
    user = store.demo_users.get(username)
    matches = await asyncio.to_thread(verify_secret, password, user.password_hash if user else DUMMY_HASH)
    if user is None or not matches:
        return None
    return Identity(subject=user.username, kind="user", roles=user.roles, organisation=user.organisation,
                    team=user.team, name=user.name)
