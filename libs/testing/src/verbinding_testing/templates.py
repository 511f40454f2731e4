"""Work done once per test run and copied after: PostgreSQL clusters (initdb, and a whole stack's migrated databases)
and each service's migrated database (a template every test's database is created from)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from verbinding_common.db import libpq_dsn
from verbinding_devstack.infra.ports import free_port
from verbinding_devstack.infra.postgres import EmbeddedPostgres

# Set by the pytest plugin in the controlling process, inherited by every worker: the one folder of this run.
ENV_RUN_DIR = "VERBINDING_TEST_RUN_DIR"


def new_run_directory() -> Path:
    """A folder private to this test run (pytest's default base temp is shared by every run of the same user, and
    one run's clean-up removes another's directories)."""
    folder = Path(tempfile.mkdtemp(prefix="verbinding-run-"))
    folder.chmod(0o755)  # the embedded PostgreSQL runs as a user of its own and must reach folders below
    return folder


def run_directory() -> Path:
    if folder := os.environ.get(ENV_RUN_DIR):
        return Path(folder)
    os.environ[ENV_RUN_DIR] = str(new_run_directory())
    return Path(os.environ[ENV_RUN_DIR])


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """One process of the run at a time (xdist workers build a template once, the others wait and copy it)."""
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cluster_template(services_dir: Path | None = None) -> Path:
    """A stopped PostgreSQL data directory made once per run: initdb only, or, given a services folder, with every
    service's database created and migrated as `verbinding migrate` does. Copy it (`copy_cluster`); never start it."""
    root = run_directory() / "clusters"
    root.mkdir(exist_ok=True)
    root.chmod(0o755)
    key = "initdb" if services_dir is None else f"stack-{_digest(str(services_dir.resolve()))}"
    target = root / key
    with _exclusive(root / f"{key}.lock"):
        if (target / "PG_VERSION").exists():
            return target
        building = root / f"{key}.building"
        shutil.rmtree(building, ignore_errors=True)
        if services_dir is None:
            EmbeddedPostgres(building / "pg", free_port(), durable=False).initialise()
        else:
            _migrated_stack_cluster(building, services_dir)
        (building / "pg").rename(target)
        shutil.rmtree(building, ignore_errors=True)
    return target


def _migrated_stack_cluster(data_dir: Path, services_dir: Path) -> None:
    from .stack import verbinding

    environment = {name: value for name, value in os.environ.items() if not name.startswith("VERBINDING_")}
    result = subprocess.run(
        verbinding("migrate", data_dir, "--pg-port", str(free_port()), services_dir=services_dir),
        capture_output=True, text=True, env=environment, timeout=300, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"migrating the stack template failed ({result.returncode}):\n{result.stdout}"
                           f"{result.stderr}")


def copy_cluster(template: Path, data_dir: Path) -> None:
    """Copy a template cluster to `data_dir`, owners and modes kept (PostgreSQL checks both)."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(template), str(data_dir)], check=True)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:10]


# -- databases: each service migrated once per server into a template, every test's database a copy of it ----------

_database_templates: dict[tuple[str, str], str] = {}
_template_locks: dict[tuple[str, str], asyncio.Lock] = {}


async def _execute(server_url: str, *statements: str) -> None:
    connection = await asyncpg.connect(libpq_dsn(server_url))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def database_template(server_url: str, alembic_ini: Path) -> str:
    """The name of a database on `server_url` migrated to head with `alembic_ini`, made on first use and then kept
    (no connections allowed, so `CREATE DATABASE … TEMPLATE` can always copy it)."""
    from .fixtures import migrate_database

    key = (server_url, str(alembic_ini))
    lock = _template_locks.setdefault(key, asyncio.Lock())
    async with lock:
        if key in _database_templates:
            return _database_templates[key]
        name = f"tpl_{_digest(key[1])}"
        await _execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
        await migrate_database(make_url(server_url).set(database=name).render_as_string(hide_password=False),
                               Path(alembic_ini))
        await _execute(server_url, f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
        _database_templates[key] = name
        return name


async def create_migrated_database(server_url: str, name: str, alembic_ini: Path) -> str:
    """Create database `name` as a copy of the service's migrated template (milliseconds, where migrating takes
    seconds) and return its URL."""
    template = await database_template(server_url, alembic_ini)
    await _execute(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)
