"""`verbinding run` and `verbinding migrate` as a developer meets them: started, refused, stopped, kept."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from verbinding_common.infra.ports import port_is_open
from verbinding_common.infra.postgres import EmbeddedPostgres
from verbinding_common.stack import discover_services

EXAMPLE_SERVICES = Path(__file__).parent / "example_stack" / "services"
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 60.0
COMMAND_TIMEOUT_S = 60.0

pytestmark = pytest.mark.timeout(240)


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (the sockets stay bound until all are picked, so none repeats)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


@dataclass(frozen=True)
class StackPorts:
    postgres: int
    broker: int
    services: dict[str, int]

    @classmethod
    def free(cls, services_dir: Path = EXAMPLE_SERVICES) -> StackPorts:
        names = [service.name for service in discover_services(services_dir)]
        postgres, broker, *ports = free_ports(2 + len(names))
        return cls(postgres, broker, dict(zip(names, ports, strict=True)))

    def arguments(self) -> list[str]:
        arguments = ["--pg-port", str(self.postgres), "--broker-port", str(self.broker)]
        for name, port in self.services.items():
            arguments += ["--port", f"{name}={port}"]
        return arguments


def verbinding(command: str, data_dir: Path, *arguments: str, services_dir: Path = EXAMPLE_SERVICES) -> list[str]:
    return [sys.executable, "-m", "verbinding_common.cli", command, "--data-dir", str(data_dir),
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


@contextlib.asynccontextmanager
async def running_stack(
    data_dir: Path,
    *arguments: str,
    ports: StackPorts | None = None,
    services_dir: Path = EXAMPLE_SERVICES,
) -> AsyncIterator[RunningStack]:
    """Start `verbinding run` on free ports (plus any further `arguments`) and yield it once it says
    "Ctrl-C to stop"; afterwards make sure nothing of it is left, even when the test failed half-way."""
    ports = ports or StackPorts.free(services_dir)
    process = await asyncio.create_subprocess_exec(
        *verbinding("run", data_dir, *ports.arguments(), *arguments, services_dir=services_dir),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=_environment(),
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


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        return await client.get(url)


async def post(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        return await client.post(url)


async def test_run_prints_the_table_and_every_service_answers(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_stack(data_dir) as stack:
        ports = stack.ports
        table = stack.output.split("Verbinding is running", 1)[1]
        assert re.search(rf"greeter\s+{re.escape(stack.url('greeter'))}\s+database greeter", table)
        assert re.search(rf"ledger\s+{re.escape(stack.url('ledger'))}\s+database ledger", table)
        assert f"postgresql://postgres@127.0.0.1:{ports.postgres}" in table
        assert f"127.0.0.1:{ports.broker}" in table
        assert str(data_dir / "traces.jsonl") in table

        for service in ("greeter", "ledger"):
            assert (await get(f"{stack.url(service)}/healthz")).status_code == 200
        environment = (await get(f"{stack.url('greeter')}/environment")).json()
        assert environment["VERBINDING_SERVICE_NAME"] == "greeter"
        assert environment["VERBINDING_ENVIRONMENT"] == "development"
        assert environment["VERBINDING_DATABASE_URL"] == (
            f"postgresql+asyncpg://postgres@127.0.0.1:{ports.postgres}/greeter"
        )
        assert environment["VERBINDING_KAFKA_BOOTSTRAP_SERVERS"] == f"127.0.0.1:{ports.broker}"
        assert environment["VERBINDING_TRACE_FILE"] == str(data_dir / "traces.jsonl")
        assert environment["VERBINDING_GREETER_URL"] == stack.url("greeter")
        assert environment["VERBINDING_LEDGER_URL"] == stack.url("ledger")

        assert re.search(r"^greeter\s+\| INFO: +Uvicorn running", stack.output, re.MULTILINE)
        assert "Uvicorn running" in (data_dir / "logs" / "greeter.log").read_text()
        assert "Running upgrade  -> 0001" in (data_dir / "logs" / "ledger.log").read_text()


async def test_a_second_run_on_the_same_data_dir_is_refused_and_names_the_first(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_stack(data_dir) as stack:
        code, output = await run_to_end(verbinding("run", data_dir, *stack.ports.arguments()))

        assert code == 1
        assert f"Verbinding is already running (pid {stack.process.pid})" in output
        assert stack.url("greeter") in output
        assert (await get(f"{stack.url('greeter')}/healthz")).status_code == 200


async def test_ctrl_c_stops_services_then_the_broker_then_postgres(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_stack(data_dir) as stack:
        pids = stack.pids()
        assert set(pids) == {"greeter", "ledger", "broker", "postgres"}
        assert all(alive(pid) for pid in pids.values())

        assert await stack.stop(signal.SIGINT) == 0

    output = stack.output
    assert output.index("greeter stopped") < output.index("Broker stopped") < output.index("PostgreSQL stopped")
    assert output.index("ledger stopped") < output.index("Broker stopped")
    assert [name for name, pid in pids.items() if alive(pid)] == []
    ports = [stack.ports.postgres, stack.ports.broker, *stack.ports.services.values()]
    assert [port for port in ports if port_is_open(port)] == []
    with (data_dir / "stack.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


async def test_data_and_migrations_persist_across_runs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ports = StackPorts.free()

    code, output = await run_to_end(verbinding("migrate", data_dir, "--pg-port", str(ports.postgres)))
    assert code == 0, output
    assert "Running upgrade  -> 0001" in output
    assert not port_is_open(ports.postgres), "migrate stops the PostgreSQL it started"

    async with running_stack(data_dir, ports=ports) as stack:
        assert (await post(f"{stack.url('ledger')}/visits")).json() == {"visits": 1}
        assert await stack.stop() == 0

    async with running_stack(data_dir, ports=ports) as stack:
        assert (await get(f"{stack.url('ledger')}/visits")).json() == {"visits": 1}
        code, output = await run_to_end(verbinding("migrate", data_dir))
        assert code == 0, output
        assert f"Using the PostgreSQL of the running stack on 127.0.0.1:{ports.postgres}" in output


async def test_a_service_that_dies_is_reported_and_the_others_keep_running(tmp_path: Path) -> None:
    async with running_stack(tmp_path / "data") as stack:
        with contextlib.suppress(httpx.HTTPError):
            await post(f"{stack.url('greeter')}/crash")

        await stack.wait_for("greeter exited on its own (exit code 3)")
        await stack.wait_for("Last lines of")
        assert (await get(f"{stack.url('ledger')}/healthz")).status_code == 200
        assert await stack.stop() == 0
    assert "ledger stopped" in stack.output


async def test_a_busy_port_is_named_with_the_process_holding_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ports = StackPorts.free()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.services["ledger"]))
        squatter.listen()
        code, output = await run_to_end(verbinding("run", data_dir, *ports.arguments()))

    assert code == 1
    assert f"Port {ports.services['ledger']} (ledger) is already in use by pid {os.getpid()}" in output
    assert not (data_dir / "pg").exists(), "nothing starts when a port is taken"


async def test_the_system_postgres_port_is_never_used(tmp_path: Path) -> None:
    code, output = await run_to_end(verbinding("run", tmp_path / "data", "--pg-port", "5432"))

    assert code == 1
    assert "Port 5432 belongs to the system PostgreSQL" in output


async def test_without_services_postgres_and_the_broker_still_start(tmp_path: Path) -> None:
    services_dir = tmp_path / "services"
    services_dir.mkdir()
    async with running_stack(tmp_path / "data", services_dir=services_dir) as stack:
        assert "No services yet" in stack.output
        assert port_is_open(stack.ports.postgres)
        assert port_is_open(stack.ports.broker)
        assert await stack.stop() == 0


async def test_a_run_after_a_killed_run_stops_what_it_left_behind(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ports = StackPorts.free()
    async with running_stack(data_dir, ports=ports) as killed:
        left_behind = killed.pids()
        killed.process.kill()
        await killed.process.wait()
    assert all(alive(pid) for pid in left_behind.values())

    async with running_stack(data_dir, ports=ports) as stack:
        assert "still running from an earlier run" in stack.output
        assert [name for name, pid in left_behind.items() if alive(pid)] == []
        assert (await get(f"{stack.url('greeter')}/healthz")).status_code == 200


BACKBONE_SERVICES = Path(__file__).parent / "example_stack" / "backbone_services"


async def test_ctrl_c_drains_every_committed_event_before_the_broker_stops(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ports = StackPorts.free(BACKBONE_SERVICES)
    total = 200
    async with running_stack(data_dir, ports=ports, services_dir=BACKBONE_SERVICES) as stack:
        async with httpx.AsyncClient(base_url=stack.url("tally"), timeout=10) as client:
            for n in range(total):
                assert (await client.post(f"/things/{n}")).status_code == 201
        # Ctrl-C at once: the consumer (10 ms an event) still has most of the backlog ahead of it.
        assert await stack.stop(signal.SIGINT) == 0

    output = stack.output
    assert output.index("tally stopped") < output.index("Broker stopped")
    server = EmbeddedPostgres(data_dir / "pg", ports.postgres)
    server.start()
    try:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{ports.postgres}/tally")
        try:
            things = await conn.fetchval("SELECT count(*) FROM thing")
            effects = await conn.fetchval("SELECT count(*) FROM effect")
            distinct = await conn.fetchval("SELECT count(DISTINCT event_id) FROM effect")
            unpublished = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        finally:
            await conn.close()
    finally:
        server.stop()
    assert things == total
    assert unpublished == 0, "the relay flushes the outbox before the service stops"
    assert effects == distinct == total, "consumers drain what was published before the broker stops"
