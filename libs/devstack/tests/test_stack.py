"""`verbinding run` and `verbinding migrate` as a developer meets them: started, refused, stopped, kept."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import socket
from pathlib import Path

import asyncpg
import httpx
import pytest

from verbinding_devstack.infra.ports import port_is_open
from verbinding_devstack.infra.postgres import EmbeddedPostgres
from verbinding_testing import stack as stack_testing
from verbinding_testing.fixtures import eventually
from verbinding_testing.stack import RunningStack, StackPorts, alive, run_to_end

EXAMPLE_SERVICES = Path(__file__).parent / "example_stack" / "services"


def running_stack(data_dir: Path, *arguments: str, ports: StackPorts | None = None,
                  services_dir: Path = EXAMPLE_SERVICES) -> contextlib.AbstractAsyncContextManager[RunningStack]:
    return stack_testing.running_stack(data_dir, *arguments, ports=ports or StackPorts.free(services_dir),
                                       services_dir=services_dir)


def verbinding(command: str, data_dir: Path, *arguments: str, services_dir: Path = EXAMPLE_SERVICES) -> list[str]:
    return stack_testing.verbinding(command, data_dir, *arguments, services_dir=services_dir)

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


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
    ports = StackPorts.free(EXAMPLE_SERVICES)

    code, output = await run_to_end(verbinding("migrate", data_dir, "--pg-port", str(ports.postgres)))
    assert code == 0, output
    assert "Running upgrade  -> 0001" in output
    assert not port_is_open(ports.postgres), "migrate stops the PostgreSQL it started"

    async with running_stack(data_dir, ports=ports) as stack:
        assert (await post(f"{stack.url('ledger')}/visits")).json() == {"visits": 1}
        assert await stack.stop() == 0

    async with running_stack(data_dir, ports=ports) as stack:
        assert (await get(f"{stack.url('ledger')}/visits")).json() == {"visits": 1}
        # Already at head: no alembic process is started for it.
        assert "ledger is at its latest migration (0001)." in stack.output and "Migrating ledger" not in stack.output
        code, output = await run_to_end(verbinding("migrate", data_dir))
        assert code == 0, output
        assert f"Using the PostgreSQL of the running stack on 127.0.0.1:{ports.postgres}" in output


async def test_a_service_that_dies_is_reported_restarted_and_keeps_its_log(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_stack(data_dir) as stack:
        first_pid = stack.pids()["greeter"]
        with contextlib.suppress(httpx.HTTPError):
            await post(f"{stack.url('greeter')}/crash")

        await stack.wait_for("greeter exited on its own (exit code 3)")
        await stack.wait_for("Last lines of")
        assert (await get(f"{stack.url('ledger')}/healthz")).status_code == 200
        await stack.wait_for("greeter is back (restart 1", timeout=30)
        assert (await get(f"{stack.url('greeter')}/healthz")).status_code == 200
        assert stack.pids()["greeter"] != first_pid, "the lock file names the new process"
        killed = stack.pids()["greeter"]
        os.kill(killed, signal.SIGKILL)
        await stack.wait_for("greeter exited on its own (on SIGKILL)")
        await stack.wait_for("greeter is back (restart 2", timeout=30)
        assert await stack.stop() == 0
    assert "ledger stopped" in stack.output and "greeter stopped" in stack.output
    log = (data_dir / "logs" / "greeter.log").read_text()
    assert log.count("Uvicorn running") == 3, "the log of every run of the process is kept"


async def test_replicas_share_the_port_each_restarted_on_its_own(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_stack(data_dir, "--replicas", "greeter=2") as stack:
        pids = stack.pids()
        assert {"greeter", "greeter#2", "ledger"} <= set(pids)
        assert stack.record()["services"]["greeter"]["processes"] == 2
        answered_by = set()
        for _ in range(300):  # the kernel hands each new connection to one of them
            environment = (await get(f"{stack.url('greeter')}/environment")).json()
            assert environment["VERBINDING_KAFKA_TOPIC_PARTITIONS"] == "3"
            answered_by.add(environment["PID"])
            if len(answered_by) == 2:
                break
        assert answered_by == {str(pids["greeter"]), str(pids["greeter#2"])}, "both processes take connections"

        os.kill(pids["greeter#2"], signal.SIGKILL)
        await stack.wait_for("greeter#2 exited on its own (on SIGKILL)")
        # The other process keeps the port answering meanwhile.
        assert (await get(f"{stack.url('greeter')}/healthz")).status_code == 200
        await stack.wait_for("greeter#2 is back (restart 1", timeout=30)
        assert stack.pids()["greeter"] == pids["greeter"]
        assert await stack.stop() == 0
    assert "Uvicorn running" in (data_dir / "logs" / "greeter.2.log").read_text()


async def test_a_busy_port_is_named_with_the_process_holding_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ports = StackPorts.free(EXAMPLE_SERVICES)
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
    ports = StackPorts.free(EXAMPLE_SERVICES)
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


async def test_a_killed_broker_is_started_again_and_the_relays_publish_to_it(tmp_path: Path) -> None:
    ports = StackPorts.free(BACKBONE_SERVICES)
    async with running_stack(tmp_path / "data", ports=ports, services_dir=BACKBONE_SERVICES) as stack:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{ports.postgres}/tally")
        try:
            async def applied(count: int) -> bool:
                return await conn.fetchval("SELECT count(DISTINCT event_id) FROM effect") >= count

            async with httpx.AsyncClient(base_url=stack.url("tally"), timeout=10) as client:
                for n in range(30):
                    assert (await client.post(f"/things/{n}")).status_code == 201
                await eventually(lambda: applied(30), timeout=60, what="the first 30 effects")
                os.kill(stack.pids()["broker"], signal.SIGKILL)
                await stack.wait_for("The broker stopped unexpectedly")
                await stack.wait_for("The broker is back")
                for n in range(30, 60):
                    assert (await client.post(f"/things/{n}")).status_code == 201
            await eventually(lambda: applied(60), timeout=90, what="every effect after the broker's restart")
            effects = await conn.fetchval("SELECT count(*) FROM effect")
        finally:
            await conn.close()
        assert await stack.stop() == 0
    assert effects == 60, "the republished events were skipped by the idempotent consumer, not applied twice"
