"""The services' processes: each service's replicas share one listening socket; one that exits is restarted."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from asyncio.subprocess import Process
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .config import HOST, StackConfig
from .console import Console, exit_status, seconds
from .discovery import ServiceSpec, StackError

# uvicorn waits for open connections (an SSE stream never ends) before it runs the lifespan shutdown
# that stops producers and drains consumers; this bound makes sure the lifespan gets its turn.
GRACEFUL_CONNECTIONS_S = 5
LOG_TAIL_LINES = 15
LOG_ROTATE_BYTES = 10 << 20
RESTART_DELAYS_S = (1, 2, 4, 8, 15, 30)
# A process that ran this long before it exited starts its back-off from the first delay again.
STEADY_AFTER_S = 30.0
STARTED = "Application startup complete"
_LINE_LIMIT = 1 << 20


@dataclass
class Replica:
    """One process of a service (a service runs one unless --replicas asks for more), across its restarts."""

    spec: ServiceSpec
    index: int
    name: str
    url: str
    log: Path
    process: Process | None = None
    started: float = field(default_factory=time.monotonic)
    exited: float | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL_LINES))
    state: str = "starting"
    restarts: int = 0
    up: asyncio.Event = field(default_factory=asyncio.Event)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None


def replica_name(service: ServiceSpec, index: int) -> str:
    return service.name if index == 1 else f"{service.name}#{index}"


def _open_log(path: Path) -> TextIO:
    """Append to the service's log, kept across runs and restarts; rotated to <name>.log.1 past 10 MiB."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > LOG_ROTATE_BYTES:
            path.replace(path.with_name(path.name + ".1"))
    return path.open("a", encoding="utf-8")


class Supervisor:
    """Starts, watches and restarts the services' processes; each service's replicas accept connections on one
    socket the stack holds (`uvicorn --fd`), so the port stays open while a process restarts."""

    def __init__(self, config: StackConfig, console: Console, on_change: Callable[[], None]) -> None:
        self.config = config
        self.console = console
        self.replicas: dict[str, Replica] = {}
        self._on_change = on_change
        self._sockets: dict[str, socket.socket] = {}
        self._stopping = asyncio.Event()

    def pids(self) -> dict[str, int]:
        return {name: r.process.pid for name, r in self.replicas.items() if r.process is not None}

    # -- processes -----------------------------------------------------------------------------

    async def exec(self, service: ServiceSpec, *args: str, pass_fds: tuple[int, ...] = ()) -> Process:
        # A session of its own: Ctrl-C in the terminal reaches only us, and we decide the order.
        return await asyncio.create_subprocess_exec(
            sys.executable, *args,
            cwd=service.directory,
            env=self.config.service_env(service),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            pass_fds=pass_fds,
            limit=_LINE_LIMIT,
        )

    async def pump(self, name: str, process: Process, log_path: Path, tail: deque[str],
                   up: asyncio.Event | None = None) -> None:
        """Copy a process's output to its log and the console until it closes."""
        assert process.stdout is not None
        with _open_log(log_path) as log:
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
                self.console.line(name, text)
                if up is not None and STARTED in text:
                    up.set()

    async def migrate(self, service: ServiceSpec) -> bool:
        """`alembic upgrade head` for one service, its output on the console and in its log; True when it passed."""
        assert service.alembic_ini is not None
        began = time.monotonic()
        self.console.say(f"Migrating {service.name} (alembic upgrade head) ...")
        process = await self.exec(service, "-m", "alembic", "-c", str(service.alembic_ini), "upgrade", "head")
        try:
            await self.pump(service.name, process, self.config.service_log(service), deque(maxlen=LOG_TAIL_LINES))
            code = await process.wait()
            if code == 0:
                self.console.say(f"{service.name} migrated ({seconds(began)}).")
            else:
                self.console.say(f"Migration of {service.name} failed ({exit_status(code)}); its output is "
                                 f"above and in {self.config.service_log(service)}.")
            return code == 0
        finally:
            if process.returncode is None:
                self.console.say(f"Migration of {service.name} interrupted.")
                await terminate(process, grace=5)

    def listen(self) -> None:
        """Bind every service's port now, held until the stack stops: nothing else can take it meanwhile."""
        for service in self.config.services:
            port = self.config.service_ports[service.name]
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Accepted connections inherit it (uvicorn sets it only on sockets it knows to be TCP).
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                listener.bind((HOST, port))
            except OSError as error:
                listener.close()
                raise StackError(f"Port {port} ({service.name}) cannot be bound: {error}.\n"
                                 f"Give {service.name} another port with --port {service.name}=PORT.") from None
            listener.listen(1024)
            self._sockets[service.name] = listener

    async def start(self, service: ServiceSpec) -> list[Replica]:
        """Start the service's processes on its listening socket, each supervised from now on."""
        started = []
        for index in range(1, self.config.replica_count(service) + 1):
            name = replica_name(service, index)
            replica = Replica(service, index, name, self.config.service_url(service.name),
                              self.config.service_log(service, index))
            self.replicas[name] = replica
            replica.tasks.append(asyncio.create_task(self._supervise(replica), name=f"supervise-{name}"))
            started.append(replica)
        return started

    async def wait_up(self, replica: Replica) -> None:
        """Until the process says its startup is complete, exits, or the health timeout passes; say which."""
        began = replica.started
        exits = asyncio.ensure_future(replica.gone.wait())
        up = asyncio.ensure_future(replica.up.wait())
        try:
            await asyncio.wait({exits, up}, timeout=self.config.health_timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exits.cancel()
            up.cancel()
        if replica.up.is_set():
            replica.state = "up"
            if replica.restarts:
                since = f"{time.monotonic() - replica.exited:.1f} s" if replica.exited else seconds(began)
                self.console.say(f"{replica.name} is back (restart {replica.restarts}, {since} after it exited).")
            else:
                self.console.say(f"{replica.name} is healthy at {replica.url} ({seconds(began)}).")
        elif replica.running:
            replica.state = "not healthy"
            self.console.say(f"{replica.name} did not finish starting within {self.config.health_timeout:.0f} s; "
                             f"it keeps running (log {replica.log}).")

    async def _spawn(self, replica: Replica) -> None:
        listener = self._sockets[replica.spec.name]
        replica.up.clear()
        replica.gone.clear()
        replica.tail.clear()
        replica.started = time.monotonic()
        replica.process = await self.exec(
            replica.spec, "-m", "uvicorn", replica.spec.app, "--fd", str(listener.fileno()),
            "--timeout-graceful-shutdown", str(GRACEFUL_CONNECTIONS_S),
            # X-Forwarded-For only from the proxies named (none by default): uvicorn trusts loopback otherwise.
            "--forwarded-allow-ips", os.environ.get("VERBINDING_FORWARDED_ALLOW_IPS", ""),
            pass_fds=(listener.fileno(),),
        )
        replica.state = "starting"
        self._on_change()

    async def _supervise(self, replica: Replica) -> None:
        """Run the process; when it exits on its own, say so and start it again after a growing delay."""
        attempt = 0
        while not self._stopping.is_set():
            await self._spawn(replica)
            process = replica.process
            assert process is not None
            if self._stopping.is_set():  # stop() began while this one was being started
                await terminate(process, grace=self.config.stop_timeout)
            pump = asyncio.create_task(self.pump(replica.name, process, replica.log, replica.tail, replica.up))
            if replica.restarts:
                replica.tasks = [task for task in replica.tasks if not task.done()]
                replica.tasks.append(asyncio.create_task(self.wait_up(replica)))
            code = await process.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(pump), 2)
            replica.gone.set()
            if self._stopping.is_set():
                return
            replica.exited = time.monotonic()
            ran = replica.exited - replica.started
            attempt = 0 if ran >= STEADY_AFTER_S else attempt
            delay = RESTART_DELAYS_S[min(attempt, len(RESTART_DELAYS_S) - 1)]
            attempt += 1
            replica.state = f"exited on its own ({exit_status(code)}); restarting"
            self.console.say(
                f"{replica.name} exited on its own ({exit_status(code)}) after {ran:.1f} s; restarting it in "
                f"{delay} s; the other services keep running. Last lines of {replica.log}:"
            )
            for line in replica.tail:
                self.console.write(f"    {line}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            if self._stopping.is_set():
                return
            replica.restarts += 1
            self.console.say(f"Restarting {replica.name} (restart {replica.restarts}) ...")

    # -- stop ----------------------------------------------------------------------------------

    async def stop(self, *, timeout: float, force: asyncio.Event) -> None:
        """SIGTERM to every process (their lifespans stop producing and drain consumers); SIGKILL to those still
        running after `timeout` or once `force` is set; then close the listening sockets."""
        self._stopping.set()
        running = [r for r in self.replicas.values() if r.running]
        if running:
            began = time.monotonic()
            self.console.say(
                f"Stopping {', '.join(r.name for r in running)} (SIGTERM; up to {timeout:.0f} s to stop "
                "producing and drain consumers) ..."
            )
            for replica in running:
                with contextlib.suppress(ProcessLookupError):
                    replica.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            exits = {asyncio.create_task(r.process.wait()): r for r in running}  # type: ignore[union-attr]
            waiting_for_force = asyncio.create_task(force.wait())
            pending = set(exits)
            deadline = began + timeout
            while pending and not waiting_for_force.done() and time.monotonic() < deadline:
                done, pending = await asyncio.wait(pending | {waiting_for_force}, timeout=deadline - time.monotonic(),
                                                   return_when=asyncio.FIRST_COMPLETED)
                pending.discard(waiting_for_force)
                for task in done & exits.keys():
                    self.console.say(f"{exits[task].name} stopped ({exit_status(task.result())}, {seconds(began)}).")
            waiting_for_force.cancel()
            for task in pending:
                replica = exits[task]
                why = "at the second signal" if force.is_set() else f"after {timeout:.0f} s"
                self.console.say(f"{replica.name} was still stopping {why}: killing it (SIGKILL).")
                await terminate(replica.process, grace=0)  # type: ignore[arg-type]
            self.console.say(f"Services stopped ({seconds(began)}).")
        for replica in self.replicas.values():
            if replica.process is not None:
                # Anything a service left behind in its session would hold its output pipe open.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(replica.process.pid, signal.SIGKILL)
        tasks = [task for replica in self.replicas.values() for task in replica.tasks]
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for listener in self._sockets.values():
            listener.close()
        self._sockets.clear()


async def terminate(process: Process, *, grace: float) -> None:
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
