"""The settings base refuses placeholder secrets outside development; readiness names what is missing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from verbinding_common.app import create_service_app
from verbinding_common.settings import ServiceSettings, secret_setting
from verbinding_testing.fixtures import running_app, test_settings


class SigningSettings(ServiceSettings):
    signing_key: SecretStr = SecretStr("changeme")
    secret_fields: tuple[str, ...] = ("signing_key",)


def test_placeholder_secrets_are_refused_outside_development() -> None:
    assert SigningSettings(environment="development").signing_key.get_secret_value() == "changeme"
    for environment in ("test", "production"):
        with pytest.raises(ValidationError, match="signing_key holds a placeholder secret"):
            SigningSettings(environment=environment)
    assert SigningSettings(environment="production", signing_key="k7Qm2-real-secret").environment == "production"


def test_settings_are_read_from_verbinding_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERBINDING_KAFKA_BOOTSTRAP_SERVERS", "10.0.0.5:9092")
    monkeypatch.setenv("VERBINDING_ENVIRONMENT", "test")
    settings = ServiceSettings()
    assert settings.kafka_bootstrap_servers == "10.0.0.5:9092"
    assert settings.kafka_enable_idempotence is False, "the embedded broker fails InitProducerId"


async def test_readiness_names_the_broker_when_it_does_not_answer(database_url: str) -> None:
    settings = test_settings(database_url=database_url, bootstrap_servers="127.0.0.1:9",
                             kafka_request_timeout_ms=500)
    app = create_service_app(settings=settings, title="example")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        response = await client.get("/readyz")
    await app.state.engine.dispose()
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["broker"].startswith("unavailable")


async def test_readiness_follows_the_running_relays_broker(database_url: str, own_broker) -> None:
    settings = test_settings(database_url=database_url, bootstrap_servers=own_broker.bootstrap_servers)
    app = create_service_app(settings=settings, title="example")
    async with running_app(app) as client:
        assert (await client.get("/readyz")).status_code == 200
        own_broker.stop()
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("unavailable")


def test_secrets_come_from_files_in_the_secrets_dir_and_variables_win(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "verbinding_database_url").write_text("postgresql://intake:s3cret@db:5432/intake\n")
    (tmp_path / "verbinding_signing_key").write_text("k7Qm2-from-a-file")
    monkeypatch.setenv("VERBINDING_SECRETS_DIR", str(tmp_path))
    settings = SigningSettings(environment="production")
    assert settings.database_url == "postgresql://intake:s3cret@db:5432/intake"
    assert settings.signing_key.get_secret_value() == "k7Qm2-from-a-file"
    assert secret_setting("database_url") == "postgresql://intake:s3cret@db:5432/intake"
    assert secret_setting("kafka_sasl_username") is None

    monkeypatch.setenv("VERBINDING_DATABASE_URL", "postgresql://intake@elsewhere/intake")
    assert SigningSettings(environment="production").database_url == "postgresql://intake@elsewhere/intake"
