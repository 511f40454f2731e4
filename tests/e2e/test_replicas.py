"""Two processes of intake and of case-plan sharing their consumer groups: one of each killed and restarted while
1,000 recognitions flow, and still every person once, every case once, no case manager past 50, the waitlist in
recognition order. (The kills prove the same with 1,000 as with 10,000; `make soak` runs it with 10,000, and
`make bench` pushes 10,000 through replicas for the figures.)"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
from e2e_support import Pusher, coa_headers, connect, every_one_cased_once, recognitions, token

from verbinding_testing.stack import StackPorts, running_stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
RECOGNITIONS = int(os.environ.get("VERBINDING_SOAK_RECOGNITIONS", "1000"))
CASE_MANAGERS = ("cm-anna", "cm-bram", "cm-noor", "cm-ruben")


async def test_a_thousand_recognitions_with_two_processes_each_one_killed_keep_every_rule(tmp_path: Path) -> None:
    async with running_stack(tmp_path / "data", "--replicas", "intake=2,case-plan=2",
                             ports=StackPorts.free()) as stack:
        gateway = stack.url("gateway")
        lead = await token(gateway, grant_type="password", username="tl-carla", password="demo")
        async with httpx.AsyncClient(base_url=gateway, trust_env=False, timeout=60) as client:
            for subject in CASE_MANAGERS:
                response = await client.post("/api/v1/case-plan/case-managers", headers=lead,
                                             json={"subject": subject, "name": subject[3:].title(), "languages": []})
                assert response.status_code == 201, response.text

            pusher = Pusher(gateway, await coa_headers(gateway))
            pushing = asyncio.create_task(pusher.push(recognitions("REPLICA", RECOGNITIONS, seed=4), batch=100))
            await pusher.until_acknowledged(RECOGNITIONS * 3 // 10)
            pids = stack.pids()
            os.kill(pids["intake#2"], signal.SIGKILL)
            os.kill(pids["case-plan"], signal.SIGKILL)
            await stack.wait_for("intake#2 is back (restart 1", timeout=120)
            await stack.wait_for("case-plan is back (restart 1", timeout=120)
            await pushing
            assert len(pusher.acknowledged) == RECOGNITIONS
            await every_one_cased_once(stack, pusher.acknowledged, timeout=240)

            waitlist = (await client.get("/api/v1/case-plan/waitlist", headers=lead)).json()

        case_plan = await connect(stack, "case_plan")
        try:
            managers = await case_plan.fetch(
                "SELECT m.capacity, m.active_cases, (SELECT count(*) FROM \"case\" c "
                "WHERE c.case_manager_id = m.id AND c.status = 'assigned') AS held FROM case_manager m")
            statuses = dict(await case_plan.fetch('SELECT status, count(*) FROM "case" GROUP BY status'))
        finally:
            await case_plan.close()

    assert [(m["active_cases"], m["held"]) for m in managers] == [(50, 50)] * len(CASE_MANAGERS), managers
    assert statuses == {"assigned": 50 * len(CASE_MANAGERS), "waitlisted": RECOGNITIONS - 50 * len(CASE_MANAGERS)}
    assert len(waitlist) == statuses["waitlisted"]
    assert [entry["position"] for entry in waitlist] == list(range(1, len(waitlist) + 1))
    order = [entry["recognised_on"] for entry in waitlist]
    assert order == sorted(order), "the waitlist is served in recognition order"
