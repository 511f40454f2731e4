"""The embedded stack: PostgreSQL, the broker and every service as local processes, stopped in order."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
from asyncio.subprocess import Process
from collections import deque
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import asyncpg
import httpx
import psutil

from verbinding_common.auth import ensure_key_files

from .infra.broker import EmbeddedBroker
from .infra.postgres import EmbeddedPostgres

GATEWAY = "gateway"
HOST = "127.0.0.1"
DEFAULT_PG_PORT = 54329
DEFAULT_BROKER_PORT = 9092
RESERVED_PORTS = {5432: "the system PostgreSQL"}
STOP_TIMEOUT_S = 30.0
HEALTH_TIMEOUT_S = 60.0
# uvicorn waits for open connections (an SSE stream never ends) before it runs the lifespan shutdown
# that stops producers and drains consumers; this bound makes sure the lifespan gets its turn.
GRACEFUL_CONNECTIONS_S = 5
LOG_TAIL_LINES = 15
_LINE_LIMIT = 1 << 20
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class StackError(Exception):
    """Something the developer can fix; it is printed as is and the command exits 1."""


class AlreadyRunning(StackError):
    def __init__(self, message: str, record: dict[str, Any]) -> None:
        super().__init__(message)
        self.record = record


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder upwards whose pyproject.toml declares the uv workspace, else `start`."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "workspace" in _toml(pyproject).get("tool", {}).get("uv", {}):
            return folder
    return start


def _toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise StackError(f"{path} is not valid TOML: {error}") from error


@dataclass(frozen=True)
class ServiceSpec:
    """One folder under services/ whose pyproject.toml has a [tool.verbinding] table."""

    name: str
    directory: Path
    port: int
    app: str
    database: str
    alembic_ini: Path | None = None

    @property
    def env_name(self) -> str:
        return self.name.upper().replace("-", "_")

    @property
    def import_root(self) -> Path:
        src = self.directory / "src"
        return src if src.is_dir() else self.directory


def discover_services(services_dir: Path) -> list[ServiceSpec]:
    """Every service in `services_dir`, ordered by port."""
    if not services_dir.is_dir():
        return []
    services = []
    for pyproject in sorted(services_dir.glob("*/pyproject.toml")):
        table = _toml(pyproject).get("tool", {}).get("verbinding")
        if table is not None:
            services.append(_service_from_table(pyproject, table))
    for attribute in ("port", "database"):
        seen: dict[object, str] = {}
        for service in services:
            value = getattr(service, attribute)
            if value in seen:
                raise StackError(f"{seen[value]} and {service.name} both declare {attribute} {value}")
            seen[value] = service.name
    return sorted(services, key=lambda service: service.port)


def _service_from_table(pyproject: Path, table: dict[str, Any]) -> ServiceSpec:
    directory = pyproject.parent.resolve()
    name = directory.name

    def fail(problem: str) -> StackError:
        return StackError(f"{pyproject} [tool.verbinding]: {problem}")

    if not _SERVICE_NAME.match(name):
        raise fail(f"folder name {name!r} must be lower-case letters, digits and '-'")
    port, app, database = table.get("port"), table.get("app"), table.get("database")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise fail(f"port must be a TCP port number, not {port!r}")
    if not isinstance(app, str) or ":" not in app:
        raise fail(f"app must be an import path like 'intake.main:app', not {app!r}")
    if not isinstance(database, str) or not _DATABASE_NAME.match(database):
        raise fail(f"database must be lower-case letters, digits and '_', not {database!r}")
    alembic_ini = None
    if table.get("alembic"):
        alembic_ini = (directory / table["alembic"]).resolve()
        if not alembic_ini.is_file():
            raise fail(f"alembic file {alembic_ini} does not exist")
    return ServiceSpec(name, directory, port, app, database, alembic_ini)


def _int_from(value: object, what: str) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise StackError(f"{what} must be a whole number, not {value!r}") from None


@dataclass(frozen=True)
class StackConfig:
    """Where the stack keeps its data and which ports it listens on."""

    data_dir: Path
    services_dir: Path
    services: tuple[ServiceSpec, ...]
    pg_port: int
    broker_port: int
    service_ports: Mapping[str, int]
    stop_timeout: float = STOP_TIMEOUT_S
    health_timeout: float = HEALTH_TIMEOUT_S

    @classmethod
    def resolve(
        cls,
        *,
        data_dir: Path | None = None,
        services_dir: Path | None = None,
        pg_port: int | None = None,
        broker_port: int | None = None,
        port_offset: int | None = None,
        service_ports: Mapping[str, int] | None = None,
        stop_timeout: float = STOP_TIMEOUT_S,
        health_timeout: float = HEALTH_TIMEOUT_S,
        env: Mapping[str, str] | None = None,
    ) -> StackConfig:
        """Options beat VERBINDING_* variables, which beat the defaults; the offset moves defaults only."""
        env = os.environ if env is None else env
        root = find_project_root()
        data_dir = Path(data_dir or env.get("VERBINDING_DATA_DIR") or root / ".data").resolve()
        services_dir = Path(services_dir or env.get("VERBINDING_SERVICES_DIR") or root / "services").resolve()
        services = tuple(discover_services(services_dir))
        offset = _int_from(port_offset if port_offset is not None else env.get("VERBINDING_PORT_OFFSET", 0),
                           "the port offset")

        def port(given: int | None, variable: str, default: int) -> int:
            if given is not None:
                return given
            if env.get(variable):
                return _int_from(env[variable], variable)
            return default + offset

        overrides = dict(service_ports or {})
        unknown = sorted(set(overrides) - {service.name for service in services})
        if unknown:
            known = ", ".join(service.name for service in services) or "none"
            raise StackError(f"no service called {', '.join(unknown)} in {services_dir} (services: {known})")
        return cls(
            data_dir=data_dir,
            services_dir=services_dir,
            services=services,
            pg_port=port(pg_port, "VERBINDING_PG_PORT", DEFAULT_PG_PORT),
            broker_port=port(broker_port, "VERBINDING_BROKER_PORT", DEFAULT_BROKER_PORT),
            service_ports={
                service.name: port(overrides.get(service.name), f"VERBINDING_{service.env_name}_PORT",
                                   service.port)
                for service in services
            },
            stop_timeout=stop_timeout,
            health_timeout=health_timeout,
        )

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "stack.lock"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def broker_log(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def trace_file(self) -> Path:
        return self.data_dir / "traces.jsonl"

    @property
    def broker_address(self) -> str:
        return f"{HOST}:{self.broker_port}"

    @property
    def postgres_url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.pg_port}"

    def service_url(self, name: str) -> str:
        return f"http://{HOST}:{self.service_ports[name]}"

    def database_url(self, service: ServiceSpec) -> str:
        return f"postgresql+asyncpg://postgres@{HOST}:{self.pg_port}/{service.database}"

    def service_log(self, service: ServiceSpec) -> Path:
        return self.log_dir / f"{service.name}.log"

    def service_env(self, service: ServiceSpec) -> dict[str, str]:
        """The environment a service (and its migrations) runs with."""
        env = dict(os.environ)
        env.update(
            VERBINDING_SERVICE_NAME=service.name,
            VERBINDING_ENVIRONMENT="development",
            VERBINDING_DATABASE_URL=self.database_url(service),
            VERBINDING_KAFKA_BOOTSTRAP_SERVERS=self.broker_address,
            VERBINDING_TRACE_FILE=str(self.trace_file),
            PYTHONPATH=os.pathsep.join(filter(None, [str(service.import_root), env.get("PYTHONPATH")])),
            PYTHONUNBUFFERED="1",
        )
        for other in self.services:
            env[f"VERBINDING_{other.env_name}_URL"] = self.service_url(other.name)
        # Services accept only identities the gateway signed; only the gateway gets the private key.
        signing_key, public_key = ensure_key_files(self.data_dir / "keys")
        env["VERBINDING_IDENTITY_PUBLIC_KEY_FILE"] = str(public_key)
        if service.name == GATEWAY:
            env["VERBINDING_IDENTITY_SIGNING_KEY_FILE"] = str(signing_key)
        return env

    def summary(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "postgres": {"url": self.postgres_url, "port": self.pg_port},
            "broker": {"address": self.broker_address, "port": self.broker_port},
            "services": {s.name: {"url": self.service_url(s.name)} for s in self.services},
            "trace_file": str(self.trace_file),
        }


def describe_running(record: Mapping[str, Any]) -> str:
    """The message a second `run` prints when the lock is taken."""
    pid = record.get("pid", "unknown")
    if record.get("command") == "migrate":
        return f"verbinding migrate is running (pid {pid}) on {record.get('data_dir')}; wait for it."
    parts = [f"{name} {entry['url']}" for name, entry in record.get("services", {}).items()]
    if "postgres" in record:
        parts.append(f"PostgreSQL {record['postgres']['url']}")
    if "broker" in record:
        parts.append(f"broker {record['broker']['address']}")
    where = f": {', '.join(parts)}" if parts else ""
    return (
        f"Verbinding is already running (pid {pid}){where}.\n"
        f"Stop it first (Ctrl-C in its terminal, or kill {pid}), or run a second stack beside it "
        "with its own --data-dir and ports (--port-offset N)."
    )


class StackLock:
    """An exclusive flock on <data>/stack.lock whose file describes the stack holding it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> dict[str, Any]:
        """Take the lock or raise AlreadyRunning; return what a run that never released it left behind."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # os.open file descriptors are not inherited, so no child keeps the lock after we exit.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            record = self._read(fd)
            os.close(fd)
            raise AlreadyRunning(describe_running(record), record) from None
        self._fd = fd
        return self._read(fd)

    def write(self, record: Mapping[str, Any]) -> None:
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(record, indent=2).encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    @staticmethod
    def _read(fd: int) -> dict[str, Any]:
        raw = os.pread(fd, 1 << 16, 0)
        try:
            record = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return {}
        return record if isinstance(record, dict) else {}


def _process_entry(pid: int) -> dict[str, Any]:
    try:
        return {"pid": pid, "create_time": psutil.Process(pid).create_time()}
    except psutil.Error:
        return {"pid": pid}


def _same_process(entry: Mapping[str, Any]) -> psutil.Process | None:
    """The process `entry` recorded, if it still runs (the start time guards against a reused pid)."""
    try:
        process = psutil.Process(entry["pid"])
        if process.create_time() != entry.get("create_time") or process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except (psutil.Error, KeyError, TypeError):
        return None


def _can_listen(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _listener(port: int) -> str:
    """Who listens on `port`, as ' by pid N (command)', or '' when the system will not say."""
    try:
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
                argv = psutil.Process(connection.pid).cmdline()
                command = " ".join([Path(argv[0]).name, *argv[1:]]) if argv else "?"
                if len(command) > 100:
                    command = command[:97] + "..."
                return f" by pid {connection.pid} ({command})"
    except psutil.Error:
        pass
    return ""


class Console:
    """The terminal: the stack's own lines and each service's output, prefixed with who said it."""

    _COLOURS = (36, 32, 33, 35, 34, 91, 92, 93, 94, 95, 96)

    def __init__(self, names: Iterable[str], stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        names = list(names)
        self.width = max([len("verbinding"), *map(len, names)])
        colour = self.stream.isatty() and "NO_COLOR" not in os.environ
        self._colours = {name: c for name, c in zip(names, self._COLOURS * 3, strict=False)} if colour else {}
        if colour:
            self._colours["verbinding"] = 1

    def line(self, who: str, text: str) -> None:
        prefix = f"{who:<{self.width}} |"
        if who in self._colours:
            prefix = f"\x1b[{self._colours[who]}m{prefix}\x1b[0m"
        self.write(f"{prefix} {text}")

    def say(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.line("verbinding", line)

    def write(self, text: str) -> None:
        # The terminal may be gone (SIGHUP); shutting down matters more than the message.
        with contextlib.suppress(OSError, ValueError):
            print(text, file=self.stream, flush=True)


@dataclass
class RunningService:
    spec: ServiceSpec
    url: str
    process: Process
    started: float = field(default_factory=time.monotonic)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL_LINES))
    state: str = "starting"
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def _exit_status(code: int | None) -> str:
    if code is not None and code < 0:
        return f"on {signal.Signals(-code).name}"
    return f"exit code {code}"


def _seconds(since: float) -> str:
    return f"{time.monotonic() - since:.1f} s"


class Stack:
    """Runs the embedded stack in the foreground until a signal asks it to stop, then stops it in order."""

    def __init__(self, config: StackConfig, console: Console | None = None) -> None:
        self.config = config
        self.console = console or Console([service.name for service in config.services])
        self.postgres = EmbeddedPostgres(config.pg_dir, config.pg_port, durable=True)
        self.broker = EmbeddedBroker(config.broker_port, log_file=config.broker_log)
        self.lock = StackLock(config.lock_file)
        self.services: dict[str, RunningService] = {}
        self.not_started: dict[str, str] = {}
        self._postgres_started = False
        self._stopping = False
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        self._background: list[asyncio.Task[None]] = []
        self._command = "run"
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")

    # -- commands ------------------------------------------------------------------------------

    async def run(self) -> int:
        """`verbinding run`: start everything, wait for a signal, stop everything; the exit code."""
        began = time.monotonic()
        try:
            previous = self.lock.acquire()
        except AlreadyRunning as running:
            self._error(str(running))
            return 1
        self._catch_signals()
        code = 0
        try:
            await self._stop_leftovers(previous)
            self._check_ports()
            self.lock.write(self._record())
            await self._start()
            if not self._stop.is_set():
                self._print_table(began)
                await self._stop.wait()
        except StackError as error:
            self._error(str(error))
            code = 1
        finally:
            began = time.monotonic()
            await self._shutdown()
            self.lock.release()
            self._release_signals()
            if self._postgres_started:
                self.console.say(f"Stopped ({_seconds(began)}).")
        return code

    async def migrate(self) -> int:
        """`verbinding migrate`: each service's `alembic upgrade head`, on the running stack's PostgreSQL or
        on one started for the purpose."""
        if not self.config.services:
            self.console.say(self._no_services())
            return 0
        self._command = "migrate"
        try:
            previous = self.lock.acquire()
        except AlreadyRunning as running:
            port = running.record.get("postgres", {}).get("port")
            if running.record.get("command") != "run" or not port:
                self._error(str(running))
                return 1
            self.config = replace(self.config, pg_port=int(port))
            self.console.say(f"Using the PostgreSQL of the running stack on {HOST}:{port}.")
            try:
                return await self._create_and_migrate()
            except StackError as error:
                self._error(str(error))
                return 1
        try:
            await self._stop_leftovers(previous)
            self._check_ports(only_postgres=True)
            self.lock.write(self._record())
            await self._start_postgres()
            return await self._create_and_migrate()
        except StackError as error:
            self._error(str(error))
            return 1
        finally:
            await self._stop_postgres()
            self.lock.release()

    # -- start ---------------------------------------------------------------------------------

    async def _start(self) -> None:
        config = self.config
        if not config.services:
            self.console.say(self._no_services())
        await self._start_postgres()
        if self._stop.is_set():
            return
        began = time.monotonic()
        self.console.say(f"Starting the broker on {config.broker_address} (log {config.broker_log}) ...")
        try:
            await asyncio.to_thread(self.broker.start)
        except (RuntimeError, TimeoutError, OSError) as error:
            raise StackError(f"The broker did not start: {error} (see {config.broker_log})") from error
        self.console.say(f"Broker is up ({_seconds(began)}).")
        self.lock.write(self._record())
        self._background.append(asyncio.create_task(self._watch_infrastructure()))
        if self._stop.is_set():
            return
        await self._create_databases()
        config.log_dir.mkdir(parents=True, exist_ok=True)
        for service in config.services:
            config.service_log(service).write_text("")
        async with httpx.AsyncClient(trust_env=False, timeout=2.0) as client:
            await self._until_stopped(asyncio.gather(*(self._bring_up(s, client) for s in config.services)))

    async def _bring_up(self, service: ServiceSpec, client: httpx.AsyncClient) -> None:
        """Migrate, start and wait for one service: each waits for its own migration, not the others'."""
        if service.alembic_ini and not await self._migrate(service):
            self.not_started[service.name] = "not started: its migration failed"
            return
        running = await self._spawn(service)
        self.lock.write(self._record())
        await self._wait_healthy(client, running)

    async def _start_postgres(self) -> None:
        began = time.monotonic()
        config = self.config
        self.console.say(f"Starting PostgreSQL on {HOST}:{config.pg_port} (data in {config.pg_dir}) ...")
        self._postgres_started = True
        try:
            await asyncio.to_thread(self.postgres.start)
        except (RuntimeError, TimeoutError, OSError, subprocess.SubprocessError) as error:
            if self._stop.is_set():
                return
            raise StackError(f"PostgreSQL did not start: {error} (see {self.postgres.log_file})") from error
        self.console.say(f"PostgreSQL is up ({_seconds(began)}).")

    async def _create_databases(self) -> None:
        if not self.config.services:
            return
        try:
            connection = await asyncpg.connect(host=HOST, port=self.config.pg_port, user="postgres",
                                               database="postgres", timeout=10)
        except (OSError, asyncpg.PostgresError) as error:
            raise StackError(f"Cannot reach PostgreSQL on {HOST}:{self.config.pg_port}: {error}") from error
        try:
            existing = {row["datname"] for row in await connection.fetch("SELECT datname FROM pg_database")}
            for service in self.config.services:
                if service.database not in existing:
                    # The name was checked against _DATABASE_NAME, so quoting it is enough.
                    await connection.execute(f'CREATE DATABASE "{service.database}"')
                    existing.add(service.database)
                    self.console.say(f"Created database {service.database} for {service.name}.")
        finally:
            await connection.close()

    async def _create_and_migrate(self) -> int:
        """Create missing databases, then upgrade every service's database to head, in parallel."""
        await self._create_databases()
        with_alembic = [service for service in self.config.services if service.alembic_ini]
        if not with_alembic:
            self.console.say("Nothing to migrate: no service declares alembic in its [tool.verbinding] table.")
            return 0
        results = await asyncio.gather(*(self._migrate(service) for service in with_alembic))
        return 0 if all(results) else 1

    async def _migrate(self, service: ServiceSpec) -> bool:
        assert service.alembic_ini is not None
        began = time.monotonic()
        self.console.say(f"Migrating {service.name} (alembic upgrade head) ...")
        process = await self._exec(service, "-m", "alembic", "-c", str(service.alembic_ini),
                                   "upgrade", "head")
        try:
            await self._pump(service, process, deque(maxlen=LOG_TAIL_LINES))
            code = await process.wait()
            if code == 0:
                self.console.say(f"{service.name} migrated ({_seconds(began)}).")
            else:
                self.console.say(f"Migration of {service.name} failed ({_exit_status(code)}); its output is "
                                 f"above and in {self.config.service_log(service)}.")
            return code == 0
        finally:
            if process.returncode is None:
                self.console.say(f"Migration of {service.name} interrupted.")
                await self._terminate(process, grace=5)

    async def _spawn(self, service: ServiceSpec) -> RunningService:
        port = self.config.service_ports[service.name]
        process = await self._exec(
            service, "-m", "uvicorn", service.app, "--host", HOST, "--port", str(port),
            "--timeout-graceful-shutdown", str(GRACEFUL_CONNECTIONS_S),
            # X-Forwarded-For only from the proxies named (none by default): uvicorn trusts loopback otherwise.
            "--forwarded-allow-ips", os.environ.get("VERBINDING_FORWARDED_ALLOW_IPS", ""),
        )
        running = RunningService(service, self.config.service_url(service.name), process)
        pump = asyncio.create_task(self._pump(service, process, running.tail))
        running.tasks = [pump, asyncio.create_task(self._watch(running, pump))]
        self.services[service.name] = running
        return running

    async def _exec(self, service: ServiceSpec, *args: str) -> Process:
        # A session of its own: Ctrl-C in the terminal reaches only us, and we decide the order.
        return await asyncio.create_subprocess_exec(
            sys.executable, *args,
            cwd=service.directory,
            env=self.config.service_env(service),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            limit=_LINE_LIMIT,
        )

    async def _pump(self, service: ServiceSpec, process: Process, tail: deque[str]) -> None:
        assert process.stdout is not None
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        with self.config.service_log(service).open("a", encoding="utf-8") as log:
            while True:
                try:
                    raw = await process.stdout.readline()
                except ValueError:
                    raw = b"[a line longer than 1 MiB was left out]\n"
                if not raw:
                    return
                text = raw.decode(errors="replace").rstrip("\r\n")
                tail.append(text)
                log.write(text + "\n")
                log.flush()
                self.console.line(service.name, text)

    async def _wait_healthy(self, client: httpx.AsyncClient, running: RunningService) -> None:
        deadline = running.started + self.config.health_timeout
        while running.process.returncode is None:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{running.url}/healthz")).status_code == 200:
                    running.state = "up"
                    took = _seconds(running.started)
                    self.console.say(f"{running.spec.name} is healthy at {running.url} ({took}).")
                    return
            if time.monotonic() > deadline:
                running.state = "not healthy"
                self.console.say(
                    f"{running.spec.name} did not answer {running.url}/healthz within "
                    f"{self.config.health_timeout:.0f} s; it keeps running "
                    f"(log {self.config.service_log(running.spec)})."
                )
                return
            await asyncio.sleep(0.1)
        running.state = f"exited on its own ({_exit_status(running.process.returncode)})"

    async def _until_stopped(self, work: Awaitable[Any]) -> Any:
        """Run `work` unless a stop signal comes first, in which case cancel it and return None."""
        task = asyncio.ensure_future(work)
        stop = asyncio.create_task(self._stop.wait())
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not task.done():
            task.cancel()
        try:
            return await task
        except asyncio.CancelledError:
            if not self._stop.is_set():
                raise
            return None

    # -- while running -------------------------------------------------------------------------

    async def _watch(self, running: RunningService, pump: asyncio.Task[None]) -> None:
        code = await running.process.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(pump), 2)
        if self._stopping:
            return
        running.state = f"exited on its own ({_exit_status(code)})"
        log = self.config.service_log(running.spec)
        self.console.say(
            f"{running.spec.name} exited on its own ({_exit_status(code)}) "
            f"after {_seconds(running.started)}; "
            f"the other services keep running. Last lines of {log}:"
        )
        for line in running.tail:
            self.console.write(f"    {line}")

    async def _watch_infrastructure(self) -> None:
        reported: set[str] = set()
        while True:
            await asyncio.sleep(1)
            for what, alive, log in (
                ("The broker", self.broker.running(), self.config.broker_log),
                ("PostgreSQL", self.postgres.running(), self.postgres.log_file),
            ):
                if not alive and what not in reported and not self._stopping:
                    reported.add(what)
                    self.console.say(f"{what} exited unexpectedly (see {log}); restart the stack.")

    def _print_table(self, began: float) -> None:
        config = self.config
        rows: list[tuple[str, str, str]] = []
        for service in config.services:
            running = self.services.get(service.name)
            state = running.state if running else self.not_started.get(service.name, "not started")
            note = f"database {service.database}" if state == "up" else state
            rows.append((service.name, config.service_url(service.name), note))
        rows += [
            ("PostgreSQL", config.postgres_url, f"data in {config.pg_dir}"),
            ("broker", config.broker_address, "memory only: a restart empties every topic"),
            ("traces", str(config.trace_file), "read them with: make traces"),
            ("logs", str(config.log_dir), ""),
        ]
        width = max(len(row[0]) for row in rows)
        url_width = max(len(row[1]) for row in rows)
        lines = ["", f"Verbinding is running ({_seconds(began)} to start)", ""]
        if not config.services:
            lines += [f"  {self._no_services()}", ""]
        lines += [f"  {name:<{width}}  {url:<{url_width}}  {note}".rstrip() for name, url, note in rows]
        lines += ["", "Ctrl-C to stop.", ""]
        self.console.write("\n".join(lines))

    def _no_services(self) -> str:
        return (f"No services yet: no folder in {self.config.services_dir} has a pyproject.toml "
                "with a [tool.verbinding] table.")

    # -- stop ----------------------------------------------------------------------------------

    def _catch_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, self._on_signal, signum)

    def _release_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if not self._stop.is_set():
            self.console.say(f"{name}: stopping Verbinding (again to kill the services at once) ...")
            self._stop.set()
        elif not self._force.is_set():
            self.console.say(f"{name} again: services that are still running get SIGKILL.")
            self._force.set()

    async def _shutdown(self) -> None:
        """Services first (their lifespans stop producers, then drain consumers), then the broker, then
        PostgreSQL: nothing a consumer still needs goes away before the consumer does."""
        self._stopping = True
        self._stop.set()
        for task in self._background:
            task.cancel()
        await self._stop_services()
        if self.broker.running():
            began = time.monotonic()
            self.console.say("Stopping the broker ...")
            await asyncio.to_thread(self.broker.stop)
            self.console.say(f"Broker stopped ({_seconds(began)}).")
        await self._stop_postgres()

    async def _stop_services(self) -> None:
        running = [r for r in self.services.values() if r.process.returncode is None]
        if running:
            began = time.monotonic()
            self.console.say(
                f"Stopping {', '.join(r.spec.name for r in running)} (SIGTERM; up to "
                f"{self.config.stop_timeout:.0f} s to stop producing and drain consumers) ..."
            )
            for service in running:
                with contextlib.suppress(ProcessLookupError):
                    service.process.send_signal(signal.SIGTERM)
            exits = {asyncio.create_task(r.process.wait()): r for r in running}
            force = asyncio.create_task(self._force.wait())
            pending = set(exits)
            deadline = began + self.config.stop_timeout
            while pending and not force.done() and time.monotonic() < deadline:
                done, pending = await asyncio.wait(pending | {force}, timeout=deadline - time.monotonic(),
                                                   return_when=asyncio.FIRST_COMPLETED)
                pending.discard(force)
                for task in done & exits.keys():
                    service = exits[task]
                    status = _exit_status(task.result())
                    self.console.say(f"{service.spec.name} stopped ({status}, {_seconds(began)}).")
            force.cancel()
            for task in pending:
                service = exits[task]
                limit = self.config.stop_timeout
                why = "at the second signal" if self._force.is_set() else f"after {limit:.0f} s"
                self.console.say(f"{service.spec.name} was still stopping {why}: killing it (SIGKILL).")
                await self._terminate(service.process, grace=0)
            self.console.say(f"Services stopped ({_seconds(began)}).")
        for service in self.services.values():
            # Anything a service left behind in its session would hold its output pipe open.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(service.process.pid, signal.SIGKILL)
        tasks = [task for service in self.services.values() for task in service.tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    async def _stop_postgres(self) -> None:
        if not self._postgres_started or not self.postgres.running():
            return
        began = time.monotonic()
        self.console.say("Stopping PostgreSQL ...")
        await asyncio.to_thread(self.postgres.stop)
        self.console.say(f"PostgreSQL stopped ({_seconds(began)}).")

    @staticmethod
    async def _terminate(process: Process, *, grace: float) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds (at once when 0) to the whole session."""
        if grace:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), grace)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()

    # -- the lock and what a crashed run left behind -------------------------------------------

    def _record(self) -> dict[str, Any]:
        processes = {}
        if self.broker.pid:
            processes["broker"] = _process_entry(self.broker.pid)
        for name, running in self.services.items():
            processes[name] = _process_entry(running.process.pid)
        return {
            "pid": os.getpid(),
            "command": self._command,
            "started_at": self._started_at,
            **self.config.summary(),
            "processes": processes,
        }

    async def _stop_leftovers(self, previous: Mapping[str, Any]) -> None:
        """A run killed without its shutdown (SIGKILL, a crash) leaves processes behind: stop them."""
        leftovers = []
        for name, entry in previous.get("processes", {}).items():
            process = _same_process(entry)
            if process is not None:
                self.console.say(f"{name} (pid {process.pid}) is still running from an earlier run that did "
                                 "not stop cleanly; stopping it.")
                leftovers.append(process)
        for process in leftovers:
            with contextlib.suppress(psutil.Error):
                process.terminate()
        if leftovers:
            _, alive = await asyncio.to_thread(psutil.wait_procs, leftovers, 10)
            for process in alive:
                with contextlib.suppress(psutil.Error):
                    process.kill()
        pid = self.postgres.pid()
        if pid and _is_postgres_of(pid, self.config.pg_dir):
            self.console.say(f"PostgreSQL (pid {pid}) is still running from an earlier run; stopping it.")
            # SIGINT is PostgreSQL's fast shutdown; pg_ctl would need the system user set up first.
            try:
                postmaster = psutil.Process(pid)
                postmaster.send_signal(signal.SIGINT)
                await asyncio.to_thread(postmaster.wait, 60)
            except psutil.NoSuchProcess:
                pass
            except psutil.TimeoutExpired:
                raise StackError(f"PostgreSQL (pid {pid}) did not stop within 60 s; stop it yourself") from None

    def _check_ports(self, *, only_postgres: bool = False) -> None:
        config = self.config
        wanted = [("PostgreSQL", config.pg_port, "--pg-port")]
        if not only_postgres:
            wanted.append(("the broker", config.broker_port, "--broker-port"))
            wanted += [(name, port, f"--port {name}=PORT") for name, port in config.service_ports.items()]
        seen: dict[int, str] = {}
        for label, port, option in wanted:
            if port in RESERVED_PORTS:
                raise StackError(f"Port {port} belongs to {RESERVED_PORTS[port]}; give {label} another one "
                                 f"with {option}.")
            if port in seen:
                raise StackError(f"{seen[port]} and {label} would both listen on port {port}.")
            seen[port] = label
            if not _can_listen(port):
                raise StackError(
                    f"Port {port} ({label}) is already in use{_listener(port)}.\n"
                    f"Stop that process, or give {label} another port with {option} "
                    "(or move every default port with --port-offset N)."
                )

    def _error(self, message: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            print(message, file=sys.stderr, flush=True)


def _is_postgres_of(pid: int, data_dir: Path) -> bool:
    """A stale postmaster.pid may name some other process by now; check it is our cluster's postmaster."""
    try:
        process = psutil.Process(pid)
        return process.name().startswith("postgres") and str(data_dir) in process.cmdline()
    except psutil.Error:
        return False
