"""A write's outcome is never a guess, end to end: the real stack, a service frozen (SIGSTOP) past the gateway's
deadline in the middle of 200 concurrent writes, every client retrying with its Idempotency-Key until it has a
final answer; afterwards every record exists exactly once and each client's answer names it."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from e2e_support import token

from verbinding_testing.stack import RunningStack, StackPorts, running_stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
WRITERS = 200
# The gateway gives up on a call after this long; the service stays frozen longer, so the writes in flight get 504.
DEADLINE_S = 3


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    async with running_stack(tmp_path_factory.mktemp("stack") / "data", ports=StackPorts.free(),
                             settings={"downstream_timeout_s": str(DEADLINE_S)}) as running:
        yield running


async def write_until_answered(gateway: httpx.AsyncClient, headers: dict[str, str], body: dict,
                               seen: Counter) -> httpx.Response:
    """What a careful client does: one key for this write, sent again after every answer that is not final."""
    keyed = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    for _ in range(120):
        try:
            response = await gateway.post("/api/v1/employment/employers", json=body, headers=keyed)
        except httpx.TransportError:
            seen["transport error"] += 1
            continue
        seen[response.status_code] += 1
        if response.status_code not in (409, 503, 504):
            return response
        assert response.headers.get("retry-after"), response.text
        await asyncio.sleep(min(float(response.headers["retry-after"]), 1.0))
    raise AssertionError(f"{body['name']} got no final answer")


async def test_writes_cut_off_by_a_frozen_service_are_each_stored_once_and_named_in_their_final_answer(
        stack: RunningStack, gateway: httpx.AsyncClient) -> None:
    lead = await token(gateway, grant_type="password", username="tl-carla", password="demo")
    run = uuid.uuid4().hex[:8]
    names = [f"Idem {run} {n:03d}" for n in range(WRITERS)]
    seen: Counter = Counter()
    employment = stack.pids()["employment"]
    writers = [asyncio.create_task(write_until_answered(gateway, lead, {"name": name, "sector": "retail"}, seen))
               for name in names]
    await asyncio.sleep(0.3)  # some written and answered, some in flight, some not yet sent
    os.kill(employment, signal.SIGSTOP)
    try:
        await asyncio.sleep(DEADLINE_S + 2)
    finally:
        os.kill(employment, signal.SIGCONT)
    resumed = time.monotonic()
    answers = await asyncio.gather(*writers)
    print(f"every writer answered {time.monotonic() - resumed:.1f} s after the service resumed")

    listed = await gateway.get("/api/v1/employment/employers", headers=lead)
    assert listed.status_code == 200, listed.text
    ours = [employer for employer in listed.json() if employer["name"].startswith(f"Idem {run} ")]
    stored = Counter(employer["name"] for employer in ours)
    assert sorted(stored) == names, "every write stored"
    assert [name for name, count in stored.items() if count > 1] == [], "no write stored twice"
    ids = {employer["name"]: employer["employer_id"] for employer in ours}
    assert {answer.status_code for answer in answers} == {201}
    assert {answer.json()["name"]: answer.json()["employer_id"] for answer in answers} == ids
    print(f"answers seen on the way: {dict(seen)}")
    # The scenario happened: the freeze cut writes off (504), and their retries were answered by a replay.
    assert seen[504] > 0, seen
    assert sum(answer.headers.get("idempotent-replayed") == "true" for answer in answers) > 0, seen
