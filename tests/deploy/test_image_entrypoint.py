"""The image's entry point, run as the container runs it (without Docker): secrets from files, migrations as their
own command, uvicorn serving, the health check; and the secrets compose generates for itself."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import asyncpg
import httpx
from deploy_support import ROOT

from verbinding_common.db import libpq_dsn
from verbinding_devstack.infra.ports import free_port
from verbinding_testing.fixtures import KafkaServer

ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.py"


async def entrypoint(*args: str, env: dict[str, str], timeout: float = 120) -> int:
    process = await asyncio.create_subprocess_exec(sys.executable, str(ENTRYPOINT), *args, env=env)
    return await asyncio.wait_for(process.wait(), timeout)


def container_env(service: str, secrets: Path, **more: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VERBINDING_", "OTEL_"))}
    return env | {
        "VERBINDING_SERVICE_DIR": str(ROOT / "services" / service),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "services" / service), str(ROOT / "libs" / "common" / "src")]),
        "VERBINDING_SECRETS_DIR": str(secrets),
        "VERBINDING_ENVIRONMENT": "test",
        **more,
    }


async def test_a_service_migrates_serves_and_answers_its_health_check_with_its_database_url_from_a_file(
        tmp_path: Path, empty_database_url: str, kafka_server: KafkaServer) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "verbinding_database_url").write_text(empty_database_url)
    port = free_port()
    env = container_env("intake", secrets, VERBINDING_PORT=str(port), VERBINDING_BIND_HOST="127.0.0.1",
                        VERBINDING_KAFKA_BOOTSTRAP_SERVERS=kafka_server.bootstrap_servers)

    assert await entrypoint("migrate", env=env) == 0
    conn = await asyncpg.connect(libpq_dsn(empty_database_url))
    try:
        tables = {row["tablename"] for row in await conn.fetch("SELECT tablename FROM pg_tables")}
    finally:
        await conn.close()
    assert {"person", "outbox", "alembic_version"} <= tables

    assert await entrypoint("healthcheck", env=env) == 1, "nothing serves yet"
    server = await asyncio.create_subprocess_exec(sys.executable, str(ENTRYPOINT), "serve", env=env)
    try:
        deadline = time.monotonic() + 90
        while await entrypoint("healthcheck", env=env) != 0:
            assert server.returncode is None, "the service exited"
            assert time.monotonic() < deadline, "the health check never passed"
            await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert checks["database"] == checks["broker"] == "ok" and set(checks.values()) == {"ok"}
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
        # uvicorn shuts the app down (relay flushed, consumers drained), then re-raises the signal it caught.
        assert await asyncio.wait_for(server.wait(), 60) in (0, -signal.SIGTERM)


async def test_compose_dev_secrets_give_each_service_its_own_password_and_only_the_gateway_the_signing_key(
        tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    env = container_env("gateway", folder)
    services = ["gateway:gateway", "intake:intake", "safe-reporting:safe_reporting"]
    assert await entrypoint("dev-secrets", str(folder), *services, env=env) == 0

    passwords = {name: (folder / "postgres" / name).read_text() for name in ("gateway", "intake", "safe_reporting")}
    assert len(set(passwords.values())) == 3 and all(len(value) >= 24 for value in passwords.values())
    for item in services:
        name, database = item.split(":")
        url = (folder / name / "verbinding_database_url").read_text()
        assert url == f"postgresql://{database}:{passwords[database]}@postgres:5432/{database}"
        assert (folder / name / "verbinding_database_url").stat().st_mode & 0o077 == 0
        assert (folder / name / "identity.pub").read_text() == (folder / "gateway" / "identity.pub").read_text()
        assert (folder / name / "identity.key").exists() == (name == "gateway")

    before = {path: path.read_text() for path in folder.rglob("*") if path.is_file()}
    assert await entrypoint("dev-secrets", str(folder), *services, env=env) == 0
    assert {path: path.read_text() for path in folder.rglob("*") if path.is_file()} == before, "a restart keeps them"
