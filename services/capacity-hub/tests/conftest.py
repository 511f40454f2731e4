"""Fixtures of the capacity hub's tests: a migrated database of each test's own, settings on the real broker, and
identity headers as the gateway signs them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from capacity_hub.settings import CapacityHubSettings
from hub_support import ALEMBIC_INI, hub_settings

from verbinding_testing.fixtures import KafkaServer, ServiceUnderTest, identity_headers


@pytest.fixture
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest(alembic_ini=ALEMBIC_INI, event_source="capacity-hub")


@pytest.fixture
def make_settings(service_database: str, kafka_server: KafkaServer,
                  identity_keys: tuple[str, str]) -> Callable[..., CapacityHubSettings]:
    def make(**overrides: object) -> CapacityHubSettings:
        return hub_settings(database_url=service_database, bootstrap_servers=kafka_server.bootstrap_servers,
                            public_key=identity_keys[1], **overrides)

    return make


@pytest.fixture
def as_ngo(identity_signer) -> Callable[..., dict[str, str]]:
    """Headers of an NGO partner's system, as the gateway vouches for it (a fresh identity on every call)."""
    def headers(organisation: str = "HVO-Querido", role: str = "ngo_partner") -> dict[str, str]:
        return identity_headers(identity_signer, role, subject=f"ngo-{organisation}", organisation=organisation,
                                kind="client", audience="capacity-hub")

    return headers
