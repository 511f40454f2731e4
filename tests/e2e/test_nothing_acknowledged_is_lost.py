"""Nothing the gateway acknowledged is ever lost: a killed service, the whole stack restarted with an empty broker,
PostgreSQL stopped and started again, all while recognitions flow through the real stack (its own processes)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import httpx
import pytest
from e2e_support import PUSH, Pusher, coa_headers, dead_letters, every_one_cased_once, recognitions

from verbinding_devstack.infra.postgres import EmbeddedPostgres
from verbinding_testing.stack import RunningStack, StackPorts, running_stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    async with running_stack(tmp_path_factory.mktemp("lossless") / "data", ports=StackPorts.free()) as running:
        yield running


async def test_intake_killed_mid_stream_is_restarted_by_itself_and_every_acknowledged_recognition_is_cased_once(
        stack: RunningStack) -> None:
    pusher = Pusher(stack.url("gateway"), await coa_headers(stack.url("gateway")))
    pushing = asyncio.create_task(pusher.push(recognitions("KILL", 800), batch=25))
    await pusher.until_acknowledged(200)
    os.kill(stack.pids()["intake"], signal.SIGKILL)

    await stack.wait_for("intake exited on its own (on SIGKILL)", timeout=10)
    await stack.wait_for("Restarting intake (restart 1)", timeout=10)
    # Its start-up waits for its consumer group to let the killed member go (the session timeout) and rebalance.
    await stack.wait_for("intake is back (restart 1", timeout=120)
    await pushing
    assert len(pusher.acknowledged) == 800
    await every_one_cased_once(stack, pusher.acknowledged)


async def test_postgres_stopped_for_ten_seconds_gives_503s_never_500s_and_loses_or_dead_letters_nothing(
        stack: RunningStack) -> None:
    gateway = stack.url("gateway")
    headers = await coa_headers(gateway)
    pusher = Pusher(gateway, headers)
    pushing = asyncio.create_task(pusher.push(recognitions("PG", 600, seed=2), batch=10))
    postgres = EmbeddedPostgres(stack.data_dir / "pg", stack.ports.postgres, durable=True)
    async with httpx.AsyncClient(base_url=gateway, trust_env=False, timeout=30,
                                 limits=httpx.Limits(max_connections=1)) as one_connection:
        # Open the connection before the outage, to see that the 503 leaves it usable.
        assert (await one_connection.get("/healthz")).status_code == 200
        await pusher.until_acknowledged(200)
        await asyncio.to_thread(postgres.stop, "immediate")
        await stack.wait_for("PostgreSQL stopped", timeout=10)

        # Asked every second on one connection (more often than uvicorn's keep-alive timeout lets it idle) from the
        # stop until the database is back and the push accepted.
        local: set[tuple[str, int]] = set()

        async def ask_until_accepted() -> list[tuple[int, str | None]]:
            answers: list[tuple[int, str | None]] = []
            while not answers or answers[-1][0] != 202:
                response = await one_connection.post(PUSH, json=recognitions("PG-ONE", 1)[0], headers=headers)
                local.add(response.extensions["network_stream"].get_extra_info("client_addr"))
                answers.append((response.status_code, response.headers.get("retry-after")))
                await asyncio.sleep(1)
            return answers

        asking = asyncio.create_task(ask_until_accepted())
        await asyncio.sleep(10)
        await asyncio.to_thread(postgres.start)
        await stack.wait_for("PostgreSQL is back", timeout=10)
        answers = await asyncio.wait_for(asking, 60)
        assert len(answers) > 10 and {status for status, _ in answers[:-1]} == {503}, answers
        assert all(retry_after and int(retry_after) > 0 for _, retry_after in answers[:-1]), answers
        assert len(local) == 1, "every 503 left the client's connection open and usable"

    await pushing
    assert set(pusher.statuses) <= {202, 503}, pusher.statuses
    assert pusher.retry_after and "missing" not in pusher.retry_after
    nothing = {"coa.status-recognitions.v1.dlq": 0, "intake.persons.v1.dlq": 0}
    assert await dead_letters(stack) == nothing, "an outage is not a bad message: nothing is dead-lettered for it"
    await every_one_cased_once(stack, [*pusher.acknowledged, "V-PG-ONE-00000"], timeout=90)
    assert await dead_letters(stack) == nothing


async def test_the_whole_stack_stopped_with_ctrl_c_and_started_again_mid_stream_cases_every_acknowledged_one(
        stack: RunningStack) -> None:
    """The module's stack is stopped with Ctrl-C here (so this test runs last) and started again on its data."""
    pusher = Pusher(stack.url("gateway"), await coa_headers(stack.url("gateway")))
    pushing = asyncio.create_task(pusher.push(recognitions("RESTART", 800, seed=3), batch=25))
    try:
        await pusher.until_acknowledged(250)
        assert await stack.stop(signal.SIGINT) == 0
        acknowledged_before = len(pusher.acknowledged)

        async with running_stack(stack.data_dir, ports=stack.ports) as second:
            assert "Starting the broker" in second.output  # a new, empty broker: the outboxes publish again
            await pushing
            assert len(pusher.acknowledged) == 800 and acknowledged_before < 800
            await every_one_cased_once(second, pusher.acknowledged)
    finally:
        if not pushing.done():
            pushing.cancel()
