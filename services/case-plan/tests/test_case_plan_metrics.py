"""Case-plan's gauges: the case waitlist, caseload fill and case managers at their cap, per team, as `/metrics` shows
them; no case manager or person in any label."""

from __future__ import annotations

import httpx
from case_plan.metrics import sample

from verbinding_common.metrics import metrics_router_for_tests, setup_metrics


async def scrape() -> dict[str, float]:
    transport = httpx.ASGITransport(app=metrics_router_for_tests())
    async with httpx.AsyncClient(transport=transport, base_url="http://case-plan") as client:
        text = (await client.get("/metrics")).text
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith("verbinding_case_plan_")}


async def test_a_full_caseload_and_a_waiting_case_show_per_team(casework) -> None:
    setup_metrics(service_name="case-plan")
    anna = await casework.add_manager("cm-anna", capacity=2, team="metrics-west")
    await casework.add_manager("cm-bram", capacity=4, team="metrics-oost")
    for _ in range(7):
        await casework.open()

    async with casework.sessionmaker() as session:
        await sample(await session.connection())
    figures = await scrape()

    assert figures['verbinding_case_plan_caseload_fill{team="metrics-west"}'] == 1.0
    assert figures['verbinding_case_plan_case_managers_at_cap{team="metrics-west"}'] == 1
    assert figures['verbinding_case_plan_case_managers_at_cap{team="metrics-oost"}'] == 1
    assert figures["verbinding_case_plan_waitlist"] == 1
    assert not any(str(anna.id) in key or "cm-anna" in key for key in figures)
