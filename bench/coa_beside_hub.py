"""The COA push beside the capacity hub: does serving NGOs slow the COA's 202s?

It starts the whole `verbinding run` stack on free ports, then measures the COA push's answer time (`POST
/api/v1/coa/status-recognitions`, batches of 500, one after the other) twice:
1. with no NGO subscriber at all;
2. while the capacity hub serves 3 webhook endpoints (one answering 204, one answering 500, one answering after
   2 s) and 200 SSE clients, with capacity changes arriving on `shelter.capacity.v1` at `RATE` per second. The
   clients open their streams as NGO systems do, at the gateway, which hands them off to the hub (`--sse-via hub`
   connects them to the hub directly).
Each phase starts once everything pushed before it has a case, so neither carries the other's work. The NGOs'
side (receivers, stream readers) runs at the lowest CPU priority: on a real network it is not on our cores.
It prints p50/p99 of each and their ratio (the target: within 10%), beside the machine's load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaProducer
from httpx_sse import aconnect_sse

from verbinding_common.contracts.shelter import Programme, ShelterCapacityChanged, ShelterStatus
from verbinding_common.events import build_envelope
from verbinding_devstack.infra.ports import free_port
from verbinding_testing.stack import running_stack

from .backbone import machine_facts, percentile
from .recognitions import StackCpu, make_batches, open_databases, recognitions, stack_ports, token, wait_until_cased
from .shelters import STREAM, _read, hub_identity, hub_processes

NAME = "coa_beside_hub"
BATCH = 500
DEFAULT_BATCHES = 20
SSE_CLIENTS = 200
RATE = 20.0
SLOW_S = 2.0
SETTLE_TIMEOUT_S = 120.0
# The NGOs' systems (200 stream readers parsing 4,000 events a second, three receivers) are other organisations'
# machines: here they share the stack's two cores, so they run at the lowest priority, to measure what the hub does
# to the COA's 202s and not what the NGOs' own computers would.
NGO_NICENESS = 19


def _lowest_priority() -> None:
    """Make this process the NGOs' machine: a session of its own at the lowest CPU priority.

    With the kernel's autogroups on (`/proc/sys/kernel/sched_autogroup_enabled`), the CPU is shared between sessions
    first and a process's nice value only counts inside its session; each stack service starts a session of its
    own, so a plain `os.nice` would only yield to this bench's own pushing process. The NGOs' side therefore leaves
    the bench's session and lowers the new session's priority as well.
    """
    os.setsid()
    os.nice(NGO_NICENESS)
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(NGO_NICENESS))


def _receivers_process(port: int, stop) -> None:
    """Three NGO systems on one server: /ok answers 204, /failing 500, /slow 204 after SLOW_S."""
    _lowest_priority()
    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        path = scope["path"]
        if path == "/slow":
            await asyncio.sleep(SLOW_S)
        status = 500 if path == "/failing" else 204
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def main() -> None:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               lifespan="off", access_log=False))
        task = asyncio.create_task(server.serve())
        await asyncio.to_thread(stop.wait)
        server.should_exit = True
        await task

    asyncio.run(main())


def _sse_process(base_url: str, path: str, headers: dict[str, str], clients: int, ready, stop, out: str) -> None:
    """SSE clients in a process of their own; they count the capacity events they receive."""
    _lowest_priority()
    received = [0]

    async def client(opened: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=None) as http, \
                aconnect_sse(http, "GET", path, headers=headers, follow_redirects=True) as source:
            async for sse in source.aiter_sse():
                if sse.event == "snapshot":
                    opened.set()
                elif sse.event == "capacity":
                    received[0] += 1

    async def main() -> None:
        opened = [asyncio.Event() for _ in range(clients)]
        tasks = [asyncio.create_task(client(event)) for event in opened]
        await asyncio.gather(*(event.wait() for event in opened))
        ready.set()
        await asyncio.to_thread(stop.wait)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    Path(out).write_text(json.dumps({"received": received[0]}))


async def capacity_changes(bootstrap: str, stop: asyncio.Event, rate: float) -> int:
    """Capacity events onto `shelter.capacity.v1` at `rate` per second (as shelter-placement's relay would)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    shelters = [uuid.uuid4() for _ in range(10)]
    sent = 0
    started = time.perf_counter()
    try:
        while not stop.is_set():
            shelter = shelters[sent % len(shelters)]
            change = ShelterCapacityChanged(
                shelter_id=shelter, sequence=sent // len(shelters) + 1, shelter_name="Bench", programme=Programme.lvv,
                neighbourhood="Oost", operator="HVO-Querido", status=ShelterStatus.open, capacity=60,
                occupied=sent % 60, available=60 - sent % 60, changed_at=datetime.now(UTC))
            envelope = build_envelope(change, source="shelter-placement", subject=str(shelter))
            await producer.send_and_wait(change.topic, envelope.to_bytes(), key=str(shelter).encode(),
                                         headers=[("ce_id", envelope.id.encode()),
                                                  ("ce_type", envelope.type.encode())])
            sent += 1
            await asyncio.sleep(max(0.0, started + sent / rate - time.perf_counter()))
    finally:
        await producer.stop()
    return sent


async def push_times(gateway: httpx.AsyncClient, coa: dict[str, str], prefix: str, batches: int) -> list[float]:
    """The answer time (ms) of each 500-recognition push, one after the other."""
    times = []
    headers = {**coa, "Content-Type": "application/json"}
    for batch in make_batches(recognitions(batches * BATCH, prefix, seed=len(prefix)), BATCH):
        started = time.perf_counter()
        answer = await gateway.post("/api/v1/coa/status-recognitions", content=batch.body, headers=headers)
        if answer.status_code != 202:
            raise RuntimeError(f"push answered {answer.status_code}: {answer.text[:300]}")
        times.append((time.perf_counter() - started) * 1000)
    return times


async def settled(dbs, cases: int) -> None:
    """Once `cases` people have a case (everything pushed so far went through the stack), and a moment later."""
    if not await wait_until_cased(dbs, cases, time.perf_counter() + SETTLE_TIMEOUT_S):
        raise RuntimeError(f"fewer than {cases} cases after {SETTLE_TIMEOUT_S:.0f} s")
    await asyncio.sleep(1.0)


def figures(times: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(times, 0.5), 1), "p99": round(percentile(times, 0.99), 1),
            "mean": round(statistics.fmean(times), 1), "count": len(times)}


async def _run(options: argparse.Namespace) -> dict[str, Any]:
    batches = options.events or DEFAULT_BATCHES
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    with tempfile.TemporaryDirectory(prefix="verbinding-bench-") as folder:
        data = Path(folder) / "data"
        async with running_stack(data, *hub_processes(options), ports=stack_ports()) as stack, \
                httpx.AsyncClient(base_url=stack.url("gateway"), timeout=60) as gateway, \
                httpx.AsyncClient(base_url=stack.url("capacity-hub"), timeout=30) as hub:
            coa = await token(gateway, grant_type="client_credentials", client_id="coa",
                              client_secret="coa-demo-secret")
            dbs = await open_databases(stack)
            await push_times(gateway, coa, "WARM", 2)  # connections, caches and the consumers' first rebalance
            await settled(dbs, 2 * BATCH)
            idle_load = os.getloadavg()
            alone_cpu = StackCpu(stack)
            alone_cpu.start()
            alone = await push_times(gateway, coa, "ALONE", batches)
            alone_cpu.stop()
            # Each phase starts once the one before it is cased: the 10,000 people a phase pushes in 4 s keep
            # intake, case-plan and employment busy for seconds after its last 202, and measured beside the
            # hub, that leftover work was charged to the hub.
            await settled(dbs, (2 + batches) * BATCH)

            port = free_port()
            for path in ("ok", "failing", "slow"):
                (await hub.post("/webhooks", headers=hub_identity(data),
                                json={"url": f"http://127.0.0.1:{port}/{path}"})).raise_for_status()
            ngo = await token(gateway, grant_type="client_credentials", client_id="ngo-hvo-querido",
                              client_secret="hvo-demo-secret")
            stream_door = ((stack.url("gateway"), STREAM, ngo) if getattr(options, "sse_via", "gateway") == "gateway"
                           else (stack.url("capacity-hub"), "/stream", hub_identity(data)))
            ready = spawn.Event()
            sse_out = f"{folder}/sse.json"
            children = [spawn.Process(target=_receivers_process, args=(port, stop)),
                        spawn.Process(target=_sse_process, args=(*stream_door, SSE_CLIENTS, ready, stop, sse_out))]
            for child in children:
                child.start()
            producing = asyncio.Event()
            changes = None
            try:
                await asyncio.to_thread(ready.wait, 120)
                changes = asyncio.create_task(capacity_changes(f"127.0.0.1:{stack.ports.broker}", producing, RATE))
                await asyncio.sleep(3.0)  # the webhooks and streams are busy before the first push
                busy_load = os.getloadavg()
                beside_cpu = StackCpu(stack)
                beside_cpu.pids.update({"NGO receivers": children[0].pid, "NGO streams": children[1].pid})
                beside_cpu.start()
                beside = await push_times(gateway, coa, "BESIDE", batches)
                beside_cpu.stop()
            finally:
                await dbs.close()
                producing.set()
                sent = await changes if changes is not None else 0
                stop.set()
                for child in children:
                    await asyncio.to_thread(child.join, 60)
            sse_received = None
            with contextlib.suppress(OSError, ValueError):
                sse_received = _read(sse_out)["received"]
    result: dict[str, Any] = {
        "name": NAME, "batch": BATCH, "batches": batches, "machine": machine_facts(),
        "alone_ms": figures(alone), "beside_hub_ms": figures(beside),
        "load_average": {"alone": [round(x, 2) for x in idle_load], "beside": [round(x, 2) for x in busy_load]},
        "capacity_changes_sent": sent, "sse_clients": SSE_CLIENTS, "sse_events_received": sse_received,
        "webhook_endpoints": "3 (204, 500, 2 s)",
        "cpu_percent_of_one_core": {"alone": alone_cpu.percent, "beside": beside_cpu.percent},
    }
    result["p50_ratio"] = round(result["beside_hub_ms"]["p50"] / result["alone_ms"]["p50"], 2)
    result["p99_ratio"] = round(result["beside_hub_ms"]["p99"] / result["alone_ms"]["p99"], 2)
    print(f"[{NAME}] COA push, {batches} batches of {BATCH} one after the other (202 answer time):")
    print(f"[{NAME}]   no NGO subscriber        p50 {result['alone_ms']['p50']:>7.1f} ms   "
          f"p99 {result['alone_ms']['p99']:>7.1f} ms   (load average {idle_load[0]:.2f})")
    print(f"[{NAME}]   hub serving 3 webhooks + {SSE_CLIENTS} SSE at {RATE:g} changes/s   "
          f"p50 {result['beside_hub_ms']['p50']:>7.1f} ms   p99 {result['beside_hub_ms']['p99']:>7.1f} ms   "
          f"(load average {busy_load[0]:.2f}; {sent} changes, {sse_received} SSE events received)")
    for phase in result["cpu_percent_of_one_core"]:
        shares = sorted(result["cpu_percent_of_one_core"][phase].items(), key=lambda item: -item[1])
        print(f"[{NAME}]   CPU % of one core while pushing {phase}: "
              + ", ".join(f"{name} {percent:.0f}" for name, percent in shares if percent >= 1))
    print(f"[{NAME}]   ratio p50 {result['p50_ratio']:.2f}, p99 {result['p99_ratio']:.2f} (target: within 10%)")
    return result


def run(options: argparse.Namespace) -> dict[str, Any]:
    return asyncio.run(_run(options))
