"""Pytest fixtures: PostgreSQL and Kafka from the environment, else testcontainers, else the embedded ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.engine import make_url

from verbinding_common.db import asyncpg_url, backbone_metadata, create_engine, create_sessionmaker, libpq_dsn
from verbinding_common.settings import ServiceSettings
from verbinding_common.telemetry import setup_telemetry
from verbinding_devstack.infra.broker import EmbeddedBroker
from verbinding_devstack.infra.ports import free_port
from verbinding_devstack.infra.postgres import EmbeddedPostgres

from .templates import (
    ENV_RUN_DIR,
    cluster_template,
    copy_cluster,
    create_migrated_database,
    new_run_directory,
    run_directory,
)

# Settings have no default environment: tests import services' apps (built at import) as the `test` environment; many
# tests at a time on a small machine: a request's statement (and a shared limit's check) get 30 s, not 1 s.
os.environ.setdefault("VERBINDING_ENVIRONMENT", "test")
os.environ.setdefault("VERBINDING_REQUEST_STATEMENT_TIMEOUT_MS", "30000")

log = logging.getLogger(__name__)
T = TypeVar("T")

ENV_DATABASE = "VERBINDING_TEST_DATABASE_URL"
ENV_KAFKA = "VERBINDING_TEST_KAFKA_BOOTSTRAP_SERVERS"
POSTGRES_IMAGE = "postgres:16-alpine"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.1"


@dataclass
class KafkaServer:
    bootstrap_servers: str
    origin: str


def docker_daemon_answers() -> bool:
    """testcontainers raises at construction without a daemon (testcontainers-python#757): probe first."""
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


# -- the run: a folder of its own (how a parallel run is cut into units: verbinding_testing.scheduling) ------------

@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Give the run a folder of its own, and pytest's temporary directories inside it (the default base temp
    is shared by every run of the same user: one run's clean-up removed another's PostgreSQL directory)."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller chose the folder (inherited) and its basetemp
    if ENV_RUN_DIR not in os.environ:
        os.environ[ENV_RUN_DIR] = str(new_run_directory())
        config.stash[_OWN_RUN_DIR] = Path(os.environ[ENV_RUN_DIR])
    if not config.option.basetemp:
        config.option.basetemp = str(Path(os.environ[ENV_RUN_DIR]) / "tmp")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    folder = session.config.stash.get(_OWN_RUN_DIR, None)
    if folder is None:
        return
    if exitstatus == 0:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        session.config.stash[_KEPT] = folder


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if kept := config.stash.get(_KEPT, None):
        terminalreporter.write_line(f"Test data, logs and stacks of this run are kept in {kept}")


_OWN_RUN_DIR = pytest.StashKey[Path]()
_KEPT = pytest.StashKey[Path]()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Spans ended during the test (the process-wide tracer provider keeps other tests' processors too)."""
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    setup_telemetry(service_name="test", span_processor=processor)
    yield exporter
    processor.shutdown()


@pytest.fixture(scope="session")
def infra_dir() -> Iterator[Path]:
    """This process's PostgreSQL and broker folders, inside the run's own folder."""
    folder = Path(tempfile.mkdtemp(prefix="infra-", dir=run_directory()))
    folder.chmod(0o755)
    yield folder


@pytest.fixture(scope="session")
def postgres_server_url(infra_dir: Path) -> Iterator[str]:
    """SQLAlchemy URL of a maintenance database on a server the tests may create databases in."""
    if url := os.environ.get(ENV_DATABASE):
        yield asyncpg_url(url)
        return
    if docker_daemon_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer(POSTGRES_IMAGE, driver="asyncpg") as container:
            yield container.get_connection_url()
        return
    with started_postgres(infra_dir / "pg") as server:
        yield server.url


@contextlib.contextmanager
def started_postgres(data_dir: Path) -> Iterator[EmbeddedPostgres]:
    """An embedded PostgreSQL in `data_dir`, copied from the run's initialised cluster (initdb runs once per run)."""
    copy_cluster(cluster_template(), data_dir)
    server = EmbeddedPostgres(data_dir, free_port(), durable=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_postgres(infra_dir: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, to stop and start again (never the shared one)."""
    with started_postgres(infra_dir / f"pg-{uuid.uuid4().hex[:6]}") as server:
        yield server


@pytest.fixture(scope="session")
def kafka_server(infra_dir: Path) -> Iterator[KafkaServer]:
    if servers := os.environ.get(ENV_KAFKA):
        yield KafkaServer(servers, "environment")
        return
    if docker_daemon_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer(KAFKA_IMAGE).with_kraft() as container:
            yield KafkaServer(container.get_bootstrap_server(), "testcontainers")
        return
    broker = EmbeddedBroker(free_port(), log_file=infra_dir / "broker.log")
    broker.start()
    try:
        yield KafkaServer(broker.bootstrap_servers, "embedded")
    finally:
        broker.stop()


@pytest.fixture
def own_broker(infra_dir: Path) -> Iterator[EmbeddedBroker]:
    """A broker of this test's own, for fault injection (pause, restart): always the embedded one."""
    broker = EmbeddedBroker(free_port(), log_file=infra_dir / f"broker-{uuid.uuid4().hex[:6]}.log")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def create_database(server_url: str, name: str) -> str:
    conn = await asyncpg.connect(libpq_dsn(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(libpq_dsn(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def empty_database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """An empty database of this test's own; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = await create_database(postgres_server_url, name)
    try:
        yield url
    finally:
        with contextlib.suppress(Exception):
            await drop_database(postgres_server_url, name)


@pytest.fixture
async def database_url(empty_database_url: str) -> str:
    """A database of this test's own with the backbone tables (outbox, processed_event) only."""
    engine = create_engine(empty_database_url)
    async with engine.begin() as conn:
        await conn.run_sync(backbone_metadata.create_all)
    await engine.dispose()
    return empty_database_url


@dataclass(frozen=True)
class ServiceUnderTest:
    """What a service's tests declare (a `service_under_test` fixture in its conftest) to get `service_database` and
    `sessionmaker`: its migrations, and the event source its sessions stage events as."""

    alembic_ini: Path
    event_source: str
    pool_size: int = 10


@pytest.fixture
async def service_database(postgres_server_url: str, service_under_test: ServiceUnderTest) -> AsyncIterator[str]:
    """A database of this test's own with the service's migrated schema: a copy of the template its Alembic
    migrations built once per run (the migrations-match-models test of every service checks that very chain)."""
    async with migrated_database(postgres_server_url, service_under_test.alembic_ini) as url:
        yield url


@contextlib.asynccontextmanager
async def migrated_database(server_url: str, alembic_ini: Path, *, prefix: str = "t") -> AsyncIterator[str]:
    """A database of its own on `server_url` with a service's migrated schema (copied from the template its
    migrations built once per run), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = await create_migrated_database(server_url, name, alembic_ini)
    try:
        yield url
    finally:
        with contextlib.suppress(Exception):
            await drop_database(server_url, name)


@pytest.fixture
async def sessionmaker(service_database: str, service_under_test: ServiceUnderTest):
    """Sessions on `service_database`, staging events as the service does (its event source)."""
    engine = create_engine(service_database, pool_size=service_under_test.pool_size)
    try:
        yield create_sessionmaker(engine, event_source=service_under_test.event_source)
    finally:
        await engine.dispose()


async def schema_drift(database_url: str, package: str) -> list:
    """What the migrated database at `database_url` lacks or has beyond the models of service `package` (every
    models.py in it) and the backbone tables: [] when the hand-reviewed migrations build exactly what the models say."""
    import importlib

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from verbinding_common.migrations import import_models

    import_models(package)
    metadata = importlib.import_module(f"{package}.database").Base.metadata
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), [metadata, backbone_metadata]))
    finally:
        await engine.dispose()


async def migrate_database(database_url: str, alembic_ini: Path) -> None:
    """Run a service's Alembic migrations up to head, as `make migrate` does (in a worker thread)."""
    from alembic import command
    from alembic.config import Config

    def upgrade() -> None:
        previous = os.environ.get("VERBINDING_DATABASE_URL")
        os.environ["VERBINDING_DATABASE_URL"] = database_url
        try:
            command.upgrade(Config(str(alembic_ini)), "head")
        finally:
            if previous is None:
                os.environ.pop("VERBINDING_DATABASE_URL", None)
            else:
                os.environ["VERBINDING_DATABASE_URL"] = previous

    await asyncio.to_thread(upgrade)


@contextlib.asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan (relay, consumers) and yield an HTTP client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


def unique_topic(stem: str) -> str:
    return f"test.{stem}.{uuid.uuid4().hex[:8]}.v1"


def test_settings(*, database_url: str, bootstrap_servers: str, service_name: str = "example",
                  **overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "service_name": service_name,
        "environment": "test",
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap_servers,
        "kafka_request_timeout_ms": 5_000,
        "kafka_session_timeout_ms": 4_000,
        "kafka_heartbeat_interval_ms": 1_000,
        "relay_poll_interval_s": 0.05,
        "consumer_retry_backoff_s": 0.05,
    }
    values.update(overrides)
    return ServiceSettings(**values)  # type: ignore[arg-type]


test_settings.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def identity_keys() -> tuple[str, str]:
    """A gateway key pair for this test session: (private PEM, public PEM)."""
    from verbinding_common.auth import generate_signing_key

    return generate_signing_key()


@pytest.fixture(scope="session")
def identity_signer(identity_keys: tuple[str, str]):
    from verbinding_common.auth import IdentitySigner

    return IdentitySigner(identity_keys[0])


def identity_headers(signer, *roles: str, audience: str, subject: str = "tester", organisation: str | None = None,
                     kind: str = "user", team: str | None = None) -> dict[str, str]:
    """Headers the service `audience` accepts, as if the gateway vouched for a caller with `roles` (and `team`)."""
    from verbinding_common.auth import Identity

    return signer.headers(Identity(subject=subject, kind=kind, roles=list(roles), organisation=organisation,
                                   team=team), audience=audience)


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = 60.0, what: str = "",
                     interval: float = 0.1) -> T:
    """Poll `check` until it returns something truthy and return that; fail after `timeout` naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or check}")
        await asyncio.sleep(interval)
