"""Fixtures of employment's tests: a migrated database of each test's own, the app on it, and callers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from employment.main import create_app
from employment.settings import EmploymentSettings

from verbinding_testing.fixtures import KafkaServer, ServiceUnderTest, identity_headers

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"


@pytest.fixture
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest(alembic_ini=ALEMBIC_INI, event_source="employment")


def employment_settings(*, database_url: str, bootstrap_servers: str, public_key: str) -> EmploymentSettings:
    return EmploymentSettings(
        environment="test", database_url=database_url, kafka_bootstrap_servers=bootstrap_servers,
        identity_public_key=public_key, kafka_session_timeout_ms=4_000, kafka_heartbeat_interval_ms=1_000,
        kafka_request_timeout_ms=5_000, relay_poll_interval_s=0.05, consumer_retry_backoff_s=0.05,
        shutdown_drain_s=1.0, service_name=f"employment-test-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def app_settings(service_database: str, kafka_server: KafkaServer,
                 identity_keys: tuple[str, str]) -> EmploymentSettings:
    """Settings of a full app on the shared broker, with a consumer group of this test's own."""
    return employment_settings(database_url=service_database, bootstrap_servers=kafka_server.bootstrap_servers,
                               public_key=identity_keys[1])


@pytest.fixture
async def api(service_database: str, identity_keys: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on employment's routes without the lifespan: events wait in the outbox."""
    app = create_app(employment_settings(database_url=service_database, bootstrap_servers="127.0.0.1:9",
                                         public_key=identity_keys[1]))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://employment") as client:
            yield client
    finally:
        await app.state.engine.dispose()


@pytest.fixture
def as_role(identity_signer):
    """Headers for a caller the gateway vouches for: as_role("team_lead"), as_role("job_hunter", "jh-eva")."""
    def headers(role: str, subject: str = "tester") -> dict[str, str]:
        return identity_headers(identity_signer, role, subject=subject, audience="employment")

    return headers
