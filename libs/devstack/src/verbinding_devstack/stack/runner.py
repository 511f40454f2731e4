"""`verbinding run` and `verbinding migrate`: start in order, supervise while running, stop in order."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ..infra.broker import EmbeddedBroker
from ..infra.postgres import EmbeddedPostgres
from .config import HOST, StackConfig
from .console import Console, seconds
from .discovery import ServiceSpec, StackError
from .infrastructure import InfrastructureWatch
from .lock import AlreadyRunning, StackLock, process_entry
from .preflight import check_ports, stop_leftovers
from .processes import Supervisor, replica_name


class Stack:
    """Runs the embedded stack in the foreground until a signal asks it to stop, then stops it in order."""

    def __init__(self, config: StackConfig, console: Console | None = None) -> None:
        self.config = config
        names = [replica_name(s, i) for s in config.services for i in range(1, config.replica_count(s) + 1)]
        self.console = console or Console(names)
        self.postgres = EmbeddedPostgres(config.pg_dir, config.pg_port, durable=True)
        self.broker = EmbeddedBroker(config.broker_port, log_file=config.broker_log)
        self.lock = StackLock(config.lock_file)
        self.supervisor = Supervisor(config, self.console, on_change=self._write_record)
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
            self.console.error(str(running))
            return 1
        self._catch_signals()
        code = 0
        try:
            await stop_leftovers(previous, self.postgres, self.console)
            check_ports(self.config)
            self.supervisor.listen()
            self._write_record()
            await self._start()
            if not self._stop.is_set():
                self._print_table(began)
                await self._stop.wait()
        except StackError as error:
            self.console.error(str(error))
            code = 1
        finally:
            began = time.monotonic()
            await self._shutdown()
            self.lock.release()
            self._release_signals()
            if self._postgres_started:
                self.console.say(f"Stopped ({seconds(began)}).")
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
                self.console.error(str(running))
                return 1
            self.config = replace(self.config, pg_port=int(port))
            self.supervisor.config = self.config
            self.console.say(f"Using the PostgreSQL of the running stack on {HOST}:{port}.")
            try:
                return await self._create_and_migrate()
            except StackError as error:
                self.console.error(str(error))
                return 1
        try:
            await stop_leftovers(previous, self.postgres, self.console)
            check_ports(self.config, only_postgres=True)
            self._write_record()
            await self._start_postgres()
            return await self._create_and_migrate()
        except StackError as error:
            self.console.error(str(error))
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
        self.console.say(f"Broker is up ({seconds(began)}).")
        self._write_record()
        watch = InfrastructureWatch(config, self.postgres, self.broker, self.console, on_change=self._write_record)
        self._background.append(asyncio.create_task(watch.run()))
        if self._stop.is_set():
            return
        await self._create_databases()
        await self._until_stopped(asyncio.gather(*(self._bring_up(s) for s in config.services)))

    async def _bring_up(self, service: ServiceSpec) -> None:
        """Migrate, start and wait for one service: each waits for its own migration, not the others'."""
        if service.alembic_ini and not await self._migrate(service):
            self.not_started[service.name] = "not started: its migration failed"
            return
        replicas = await self.supervisor.start(service)
        await asyncio.gather(*(self.supervisor.wait_up(replica) for replica in replicas))

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
        self.console.say(f"PostgreSQL is up ({seconds(began)}).")

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
                    # The name was checked against DATABASE_NAME, so quoting it is enough.
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
        """`alembic upgrade head` for one service, unless its database is at head already; True when it is now."""
        if (revision := await self._latest_revision_applied(service)) is not None:
            self.console.say(f"{service.name} is at its latest migration ({revision}).")
            return True
        return await self.supervisor.migrate(service)

    async def _latest_revision_applied(self, service: ServiceSpec) -> str | None:
        """The head revision when the service's database is at it (nothing to migrate, so no `alembic` process to
        start), else None. Anything unexpected (no version table, several heads) also says None: alembic decides."""
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        assert service.alembic_ini is not None
        try:
            heads = ScriptDirectory.from_config(Config(str(service.alembic_ini))).get_heads()
            connection = await asyncpg.connect(host=HOST, port=self.config.pg_port, user="postgres",
                                               database=service.database, timeout=10)
        except Exception:
            return None
        try:
            applied = [row["version_num"] for row in await connection.fetch("SELECT version_num FROM alembic_version")]
        except asyncpg.PostgresError:
            return None
        finally:
            await connection.close()
        return heads[0] if len(heads) == 1 and applied == heads else None

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

    def _print_table(self, began: float) -> None:
        config = self.config
        rows: list[tuple[str, str, str]] = []
        for service in config.services:
            replicas = [r for r in self.supervisor.replicas.values() if r.spec.name == service.name]
            states = sorted({r.state for r in replicas}) or [self.not_started.get(service.name, "not started")]
            note = f"database {service.database}" if states == ["up"] else ", ".join(states)
            if len(replicas) > 1:
                note += f" ({len(replicas)} processes sharing the port)"
            rows.append((service.name, config.service_url(service.name), note))
        rows += [
            ("PostgreSQL", config.postgres_url, f"data in {config.pg_dir}"),
            ("broker", config.broker_address, "memory only: a restart empties every topic"),
            ("traces", str(config.trace_file), "read them with: make traces"),
            ("metrics", "<service URL>/metrics", "Prometheus format on every service; one screen: make metrics"),
            ("logs", str(config.log_dir), "kept across runs and restarts"),
        ]
        width = max(len(row[0]) for row in rows)
        url_width = max(len(row[1]) for row in rows)
        lines = ["", f"Verbinding is running ({seconds(began)} to start)", ""]
        if not config.services:
            lines += [f"  {self._no_services()}", ""]
        lines += [f"  {name:<{width}}  {url:<{url_width}}  {note}".rstrip() for name, url, note in rows]
        lines += ["", "A service that exits is started again. Ctrl-C to stop.", ""]
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
        await self.supervisor.stop(timeout=self.config.stop_timeout, force=self._force)
        if self.broker.running():
            began = time.monotonic()
            self.console.say("Stopping the broker ...")
            await asyncio.to_thread(self.broker.stop)
            self.console.say(f"Broker stopped ({seconds(began)}).")
        await self._stop_postgres()

    async def _stop_postgres(self) -> None:
        if not self._postgres_started or not self.postgres.running():
            return
        began = time.monotonic()
        self.console.say("Stopping PostgreSQL ...")
        await asyncio.to_thread(self.postgres.stop)
        self.console.say(f"PostgreSQL stopped ({seconds(began)}).")

    # -- the lock record -------------------------------------------------------------------------

    def _write_record(self) -> None:
        if self.lock.held:
            self.lock.write(self._record())

    def _record(self) -> dict[str, Any]:
        processes = {}
        if self.broker.pid:
            processes["broker"] = process_entry(self.broker.pid)
        for name, pid in self.supervisor.pids().items():
            processes[name] = process_entry(pid)
        return {
            "pid": os.getpid(),
            "command": self._command,
            "started_at": self._started_at,
            **self.config.summary(),
            "processes": processes,
        }

