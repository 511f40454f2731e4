"""The overview benchmark: a case manager reading the overview of each of their 50 clients, through the gateway.

It starts the whole `verbinding run` stack on free ports in a temporary data dir and, as its clients do:
1. as team lead (tl-carla) adds one case manager (cm-anna) with room for 50;
2. as the COA pushes 50 recognitions and waits until every one is assigned to her and intake knows she holds
   each case (her overview answers 200 for all 50);
3. as cm-anna reads every client's overview `ROUNDS` times (`READERS` at once) and reports p50/p99 latency: the
   gateway's token check, intake and case-plan in parallel, each checking that she holds the case and auditing
   the read. Target: p99 <= 100 ms.
A correctness check: every overview answers 200, and another case manager (cm-bram) gets 404 for each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from verbinding_testing.stack import running_stack

from .backbone import machine_facts, percentile
from .recognitions import stack_ports

NAME = "overview"
CLIENTS = 50
ROUNDS = 10
READERS = 4
TARGET_P99_MS = 100.0
TIMEOUT_S = 120.0


async def _token(client: httpx.AsyncClient, **form: str) -> dict[str, str]:
    response = await client.post("/oauth/token", data=form)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _measure(gateway_url: str, result: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30, trust_env=False) as client:
        lead = await _token(client, grant_type="password", username="tl-carla", password="demo")
        anna = await _token(client, grant_type="password", username="cm-anna", password="demo")
        bram = await _token(client, grant_type="password", username="cm-bram", password="demo")
        coa = await _token(client, grant_type="client_credentials", client_id="coa", client_secret="coa-demo-secret")
        added = await client.post("/api/v1/case-managers", headers=lead,
                                  json={"subject": "cm-anna", "name": "Anna", "languages": ["ar"]})
        added.raise_for_status()
        run = uuid.uuid4().hex[:6].upper()
        pushed = await client.post("/api/v1/coa/status-recognitions", headers=coa, json={"recognitions": [
            {"coa_registration_number": f"V-OV{run}{n:03d}",
             "recognised_on": (date(2024, 1, 1) + timedelta(days=n)).isoformat(), "family_name": f"Family {n}",
             "given_names": f"Person {n}", "date_of_birth": "1990-01-01", "gender": "x",
             "country_of_origin": "SY", "languages": ["ar"], "reception_centre": "AZC Amsterdam"}
            for n in range(CLIENTS)]})
        pushed.raise_for_status()

        deadline = time.monotonic() + TIMEOUT_S
        persons: list[str] = []
        while time.monotonic() < deadline:
            caseload = (await client.get("/api/v1/caseload", headers=anna)).json()
            persons = [case["person_id"] for case in caseload.get("cases", [])]
            if len(persons) == CLIENTS and all([
                    (await client.get(f"/api/v1/persons/{p}/overview", headers=anna)).status_code == 200
                    for p in persons]):
                break
            await asyncio.sleep(0.5)
        else:
            result.update(ok=False, error=f"only {len(persons)} of {CLIENTS} clients readable in time")
            return

        latencies: list[float] = []
        statuses: dict[int, int] = {}
        queue: asyncio.Queue[str] = asyncio.Queue()
        for _ in range(ROUNDS):
            for person in persons:
                queue.put_nowait(person)

        async def reader() -> None:
            while not queue.empty():
                person = queue.get_nowait()
                started = time.perf_counter()
                response = await client.get(f"/api/v1/persons/{person}/overview", headers=anna)
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(reader() for _ in range(READERS)))
        elapsed = time.perf_counter() - began
        refused = [(await client.get(f"/api/v1/persons/{p}/overview", headers=bram)).status_code for p in persons]
        result.update(
            requests=len(latencies), readers=READERS, statuses=statuses, requests_per_s=round(len(latencies) / elapsed),
            p50_ms=round(percentile(latencies, 0.5), 1), p99_ms=round(percentile(latencies, 0.99), 1),
            max_ms=round(max(latencies), 1), target_p99_ms=TARGET_P99_MS,
            target_met=percentile(latencies, 0.99) <= TARGET_P99_MS,
            ok=statuses == {200: len(latencies)} and set(refused) == {404})


def run(options: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": NAME, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                              "machine": machine_facts(), "clients": CLIENTS, "rounds": ROUNDS}
    print(f"[{NAME}] starting the stack, then {ROUNDS} overviews of each of {CLIENTS} clients by their holder",
          flush=True)

    async def main() -> None:
        with tempfile.TemporaryDirectory(prefix="verbinding-bench-overview-") as folder:
            os.chmod(folder, 0o755)  # PostgreSQL runs as a user of its own when we are root
            async with running_stack(Path(folder) / "data", ports=stack_ports()) as stack:
                await _measure(stack.url("gateway"), result)

    asyncio.run(main())
    if "p99_ms" in result:
        print(f"[{NAME}] {result['requests']} overviews by their holder ({READERS} at once): "
              f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms (target <= {TARGET_P99_MS:g} ms), "
              f"{result['requests_per_s']}/s; another case manager refused on all {CLIENTS}: {result['ok']}")
    else:
        print(f"[{NAME}] {result.get('error')}")
    return result
