"""Run a whole `verbinding run` stack as a subprocess on free ports, for tests (stack, end-to-end, demo checks)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from verbinding_devstack.infra.ports import free_ports
from verbinding_devstack.stack import discover_services

from .templates import cluster_template, copy_cluster

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
COMMAND_TIMEOUT_S = 60.0
SERVICES = Path(__file__).resolve().parents[4] / "services"


@dataclass(frozen=True)
class StackPorts:
    postgres: int
    broker: int
    services: dict[str, int]

    @classmethod
    def free(cls, services_dir: Path = SERVICES) -> StackPorts:
        names = [service.name for service in discover_services(services_dir)]
        postgres, broker, *ports = free_ports(2 + len(names))
        return cls(postgres, broker, dict(zip(names, ports, strict=True)))

    def arguments(self) -> list[str]:
        arguments = ["--pg-port", str(self.postgres), "--broker-port", str(self.broker)]
        for name, port in self.services.items():
            arguments += ["--port", f"{name}={port}"]
        return arguments


def verbinding(command: str, data_dir: Path, *arguments: str, services_dir: Path = SERVICES) -> list[str]:
    return [sys.executable, "-m", "verbinding_devstack.cli", command, "--data-dir", str(data_dir),
            "--services-dir", str(services_dir), *arguments]


def _environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("VERBINDING_")}


async def run_to_end(command: list[str]) -> tuple[int, str]:
    """Run a command that is expected to finish by itself; its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=_environment()
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, output.decode()


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@dataclass
class RunningStack:
    """A `verbinding run` subprocess, the ports it was given, and all it has printed so far."""

    process: asyncio.subprocess.Process
    data_dir: Path
    ports: StackPorts
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports.services[service]}"

    def record(self) -> dict:
        return json.loads((self.data_dir / "stack.lock").read_text())

    def pids(self) -> dict[str, int]:
        """Every process of the stack: the services, the broker and the PostgreSQL postmaster."""
        pids = {name: entry["pid"] for name, entry in self.record()["processes"].items()}
        pids["postgres"] = int((self.data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        return pids

    async def read_output(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    async def wait_for(self, text: str, timeout: float = 30.0) -> None:
        async def seen() -> None:
            while text not in self.output:
                if self.process.returncode is not None:
                    raise AssertionError(f"the stack exited ({self.process.returncode}) before printing "
                                         f"{text!r}:\n{self.output}")
                await asyncio.sleep(0.05)

        try:
            await asyncio.wait_for(seen(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {text!r} after {timeout:.0f} s:\n{self.output}") from None

    async def stop(self, signum: int = signal.SIGINT) -> int:
        """Send `signum` (Ctrl-C by default) and return the exit code once the stack has stopped."""
        if self.process.returncode is None:
            self.process.send_signal(signum)
        try:
            return await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            raise AssertionError(f"the stack did not stop in {STOP_TIMEOUT_S:.0f} s:\n{self.output}") from None


# Tests run in parallel on a busy machine: the gateway's deadlines for its neighbours (1.5 s and 0.8 s by default)
# and the services' bound on a request's statement (1 s) would turn a slow answer into a 503 or 504 that no test is
# about. The embedded broker holds a consumer's group join for half its session timeout: 2 s instead of 5 s for every
# consumer that starts, restarts or rebalances (the services' own tests use the same 4 s). A test's own `settings` win.
BUSY_MACHINE_SETTINGS = {"downstream_timeout_s": "15", "overview_timeout_s": "5",
                         "request_statement_timeout_ms": "30000",
                         "kafka_session_timeout_ms": "4000", "kafka_heartbeat_interval_ms": "1000"}


@contextlib.asynccontextmanager
async def running_stack(
    data_dir: Path,
    *arguments: str,
    ports: StackPorts | None = None,
    services_dir: Path = SERVICES,
    settings: dict[str, str] | None = None,
) -> AsyncIterator[RunningStack]:
    """Start `verbinding run` on free ports (plus any further `arguments`, and `settings` as VERBINDING_* variables
    every service sees) and yield it once it says "Ctrl-C to stop"; afterwards make sure nothing of it is left,
    even when the test failed half-way."""
    ports = ports or StackPorts.free(services_dir)
    if not (data_dir / "pg").exists():
        # initdb and every migration ran once per test run; this stack starts from a copy of their result.
        # (The runner's own first start, initdb and migrations included, is what libs/devstack's tests check on the
        # example services; those stacks copy only the initialised cluster.)
        template = cluster_template(services_dir if services_dir == SERVICES else None)
        await asyncio.to_thread(copy_cluster, template, data_dir / "pg")
    settings = {**BUSY_MACHINE_SETTINGS, **(settings or {})}
    environment = _environment() | {f"VERBINDING_{name.upper()}": value for name, value in settings.items()}
    process = await asyncio.create_subprocess_exec(
        *verbinding("run", data_dir, *ports.arguments(), *arguments, services_dir=services_dir),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=environment,
    )
    stack = RunningStack(process, data_dir, ports)
    reader = asyncio.create_task(stack.read_output())
    try:
        await stack.wait_for("Ctrl-C to stop", READY_TIMEOUT_S)
        yield stack
    finally:
        if process.returncode is None:
            pids = {}
            with contextlib.suppress(OSError, ValueError, KeyError):
                pids = stack.pids()
            try:
                await stack.stop()
            except AssertionError:
                for pid in [process.pid, *pids.values()]:
                    with contextlib.suppress(psutil.Error):
                        psutil.Process(pid).kill()
                await process.wait()
                raise
        await asyncio.wait_for(reader, 10)
