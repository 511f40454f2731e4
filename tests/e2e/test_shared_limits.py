"""Two processes of the gateway and of safe-reporting (`make run REPLICAS=gateway=2,safe-reporting=2`): the
token-failure throttle and the receipt-guess budget are one limit for both processes, whichever answers, and
still spent after a process of each service was killed and started again (the new one answering alone).

Which process answers is made certain, not left to the kernel: the other one is frozen (SIGSTOP) while a request
goes out on a new connection, so only the running one can accept it on the shared port.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from e2e_support import connect

from verbinding_common.auth import Identity, IdentitySigner, Role
from verbinding_testing.stack import RunningStack, StackPorts, running_stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TOKEN_FAILURES = 4
GUESSES = 6
SETTINGS = {"token_failure_limit": f"{TOKEN_FAILURES}/hour", "receipt_failures_per_window": str(GUESSES),
            "receipt_window_s": "3600"}
WRONG_PASSWORD = {"grant_type": "password", "username": "cm-anna", "password": "guess"}


@contextlib.contextmanager
def only(stack: RunningStack, process: str) -> Iterator[None]:
    """While the block runs, every other process of `process`'s service is frozen: `process` answers alone."""
    service = process.split("#")[0]
    others = [pid for name, pid in stack.pids().items() if name.split("#")[0] == service and name != process]
    for pid in others:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in others:
            os.kill(pid, signal.SIGCONT)


async def post(url: str, path: str, **request: object) -> httpx.Response:
    """On a connection of its own, so the kernel hands it to whichever process accepts next."""
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=60) as client:
        return await client.post(path, headers={"Connection": "close", **request.pop("headers", {})},  # type: ignore[arg-type]
                                 **request)  # type: ignore[arg-type]


def as_reporter(stack: RunningStack) -> dict[str, str]:
    """What the gateway sends safe-reporting for an anonymous reporter (signed with the stack's identity key)."""
    signer = IdentitySigner((stack.data_dir / "keys" / "identity.key").read_text())
    return signer.headers(Identity(subject="anonymous-reporter", kind="client", roles=[Role.reporter]),
                          audience="safe-reporting")


async def token_answers(stack: RunningStack, process: str, count: int, form: dict[str, str]) -> list[int]:
    with only(stack, process):
        return [(await post(stack.url("gateway"), "/oauth/token", data=form)).status_code for _ in range(count)]


async def guess_answers(stack: RunningStack, process: str, count: int, body: dict[str, str]) -> list[int]:
    with only(stack, process):
        return [(await post(stack.url("safe-reporting"), "/reports/follow-up", json=body,
                            headers=as_reporter(stack))).status_code for _ in range(count)]


async def test_the_token_and_guess_limits_hold_across_two_processes_and_their_restarts(tmp_path: Path) -> None:
    async with running_stack(tmp_path / "data", "--replicas", "gateway=2,safe-reporting=2", ports=StackPorts.free(),
                             settings=SETTINGS) as stack:
        created = await post(stack.url("gateway"), "/api/v1/safe-reporting/reports", json={
            "role": "victim", "category": "labour_exploitation", "district": "nieuw_west",
            "occurred_on": "2026-11-20", "part_of_day": "evening", "answer_language": "ar",
            "description": "My employer keeps my wages and threatens me."})
        assert created.status_code == 201, created.text
        right_receipt = {"receipt": created.json()["receipt"]}
        # Wrong, in the same prefix bucket as the right one (the budget is per receipt prefix).
        digits = right_receipt["receipt"].replace("-", "")
        wrong_receipt = {"receipt": digits[:3] + ("0" * 17 if digits[3:] != "0" * 17 else "1" * 17)}
        right_password = {**WRONG_PASSWORD, "password": "demo"}

        # Half the failures to each process; the one past the limit is refused by a process that saw only half.
        assert await token_answers(stack, "gateway", TOKEN_FAILURES // 2, WRONG_PASSWORD) == [400, 400]
        assert await token_answers(stack, "gateway#2", TOKEN_FAILURES // 2 + 1, WRONG_PASSWORD) == [400, 400, 429]
        assert await token_answers(stack, "gateway", 1, right_password) == [429]

        assert await guess_answers(stack, "safe-reporting", GUESSES // 2, wrong_receipt) == [404] * 3
        assert await guess_answers(stack, "safe-reporting#2", GUESSES // 2 + 1, wrong_receipt) == [404] * 3 + [429]
        assert await guess_answers(stack, "safe-reporting", 1, right_receipt) == [429]

        # The processes that counted the first hits are killed; the new ones, answering alone, start with empty
        # memories: what they refuse, they read from the database.
        pids = stack.pids()
        for process in ("gateway", "safe-reporting"):
            os.kill(pids[process], signal.SIGKILL)
        for process in ("gateway", "safe-reporting"):
            await stack.wait_for(f"{process} is back (restart 1", timeout=120)
        assert await token_answers(stack, "gateway", 1, right_password) == [429]
        assert await guess_answers(stack, "safe-reporting", 1, right_receipt) == [429]
        # Another user name was never throttled.
        assert await token_answers(stack, "gateway#2", 1, {**right_password, "username": "tl-carla"}) == [200]

        gateway_db, safe_db = await connect(stack, "gateway"), await connect(stack, "safe_reporting")
        try:
            gateway_rows = [dict(row) for row in await gateway_db.fetch("SELECT * FROM rate_limit_bucket")]
            safe_rows = [dict(row) for row in await safe_db.fetch("SELECT * FROM rate_limit_bucket")]
        finally:
            await gateway_db.close()
            await safe_db.close()

    assert sorted((row["limit_name"], len(row["hits"])) for row in gateway_rows) \
        == [("anonymous-reports", 1), ("token-failures", TOKEN_FAILURES)]
    assert sorted((row["limit_name"], len(row["hits"])) for row in safe_rows) \
        == [("receipt-guesses", GUESSES), ("receipt-guesses-day", GUESSES)]
    stored = repr(gateway_rows) + repr(safe_rows)
    for identifier in ("cm-anna", "127.0.0.1", right_receipt["receipt"]):
        assert identifier not in stored
