"""Gateway test fixtures: a migrated database of the test's own, and settings pointing at the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from gateway.settings import GatewaySettings
from gateway_support import ALEMBIC_INI, gateway_settings

from verbinding_testing.fixtures import KafkaServer, migrated_database


@pytest.fixture
async def gateway_database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A database of this test's own with the gateway's migrated schema."""
    async with migrated_database(postgres_server_url, ALEMBIC_INI) as url:
        yield url


@pytest.fixture
def make_settings(gateway_database_url: str, kafka_server: KafkaServer,
                  identity_keys: tuple[str, str]) -> Callable[..., GatewaySettings]:
    def make(**overrides: object) -> GatewaySettings:
        return gateway_settings(database_url=gateway_database_url, bootstrap_servers=kafka_server.bootstrap_servers,
                                private_identity_pem=identity_keys[0], **overrides)

    return make
