"""The shelters benchmark: placement changes to NGO subscribers, from the placement's commit to receipt.

It starts the whole `verbinding run` stack on free ports:
1. through the gateway, as the LVV coordinator (pc-pieter) plans, consults and opens `SHELTERS` shelters of
   HVO-Querido; as HVO-Querido (ngo-hvo-querido) registers residents;
2. at the capacity hub, as HVO-Querido (an identity signed with the stack's identity key, as the gateway signs it:
   the gateway publishes the hub's routes once it mounts services' declarations), subscribes `--endpoints` webhook
   endpoints (one receiving HTTP server in a process of its own, a path per endpoint, every `VERIFY_EVERY`-th
   request verified with standardwebhooks) and `--sse-clients` SSE streams; and one Kafka consumer group of its own;
3. makes `--changes` placement changes (half placements, then as many leaves) at `--rate` per second, each one
   capacity event;
4. measures, per kind of subscriber, the time from the change (the event's `changed_at`, stamped in the committing
   transaction) to its receipt (same machine clock): p50/p99; webhook deliveries/s; and checks that every
   subscriber saw every shelter's sequences without a gap, out of order or (for SSE and Kafka) twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer
from httpx_sse import aconnect_sse
from standardwebhooks.webhooks import Webhook

from verbinding_common.auth import Identity, IdentitySigner, ensure_key_files
from verbinding_devstack.infra.ports import free_port
from verbinding_testing.fixtures import eventually
from verbinding_testing.stack import running_stack

from .backbone import machine_facts, percentile
from .recognitions import StackCpu, stack_ports, token

NAME = "shelters"
SHELTERS = 10
CAPACITY = 60
DEFAULT_CHANGES = 1000
DEFAULT_ENDPOINTS = 50
DEFAULT_SSE_CLIENTS = 50
DEFAULT_RATE = 20.0
# Where NGO systems open the stream: the gateway checks them and hands them off to the hub (307 and a ticket).
STREAM = "/api/v1/capacity/stream"
VERIFY_EVERY = 10
TARGET_P99_MS = 500.0
DRAIN_TIMEOUT_S = 420.0


class Subscribers:
    """What every subscriber received: per subscriber, per shelter, the sequences in arrival order; latencies."""

    def __init__(self) -> None:
        self.sequences: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.latency_ms: dict[str, list[float]] = defaultdict(list)
        self.since: datetime | None = None  # changes before this moment are set-up, not measured
        self.webhook_requests = 0
        self.unverified = 0
        self.secrets: dict[int, str] = {}
        self.first_webhook: float | None = None
        self.last_webhook: float | None = None
        self.receipts: list[tuple[str, str, dict[str, Any], float]] = []
        self.record_all = False  # a child process records everything; the parent keeps what came after `since`

    def first_seen(self) -> dict[str, int]:
        """Per shelter, the first measured sequence any subscriber saw."""
        first: dict[str, int] = {}
        for shelters in self.sequences.values():
            for shelter, seen in shelters.items():
                first[shelter] = min(first.get(shelter, seen[0]), *seen)
        return first

    def receive(self, kind: str, subscriber: str, change: dict[str, Any], received: float | None = None) -> None:
        changed_at = datetime.fromisoformat(change["changed_at"])
        if (self.since is None and not self.record_all) or (self.since is not None and changed_at < self.since):
            return
        self.sequences[subscriber][change["shelter_id"]].append(change["sequence"])
        self.latency_ms[kind].append(((received or time.time()) - changed_at.timestamp()) * 1000)
        self.receipts.append((kind, subscriber, {key: change[key] for key in ("changed_at", "shelter_id", "sequence")},
                              received or time.time()))

    def progress(self) -> dict[str, dict[str, int]]:
        """Per subscriber and shelter, the highest sequence received."""
        return {name: {shelter: max(seen) for shelter, seen in shelters.items()}
                for name, shelters in self.sequences.items()}

    def write_progress(self, out: str) -> None:
        Path(out + ".progress").write_text(json.dumps(self.progress()))

    def merge(self, receipts: list) -> None:
        for kind, subscriber, change, received in receipts:
            self.receive(kind, subscriber, change, received)

    def receiver_app(self):
        """A bare ASGI receiver (POST /hook/<n>): the bench's own side should cost as little as it can."""
        async def app(scope, receive, send) -> None:
            if scope["type"] != "http":
                return
            body, more = b"", True
            while more:
                message = await receive()
                body, more = body + message.get("body", b""), message.get("more_body", False)
            number = int(scope["path"].rsplit("/", 1)[1])
            self.webhook_requests += 1
            if self.webhook_requests % VERIFY_EVERY == 0:
                headers = {key.decode(): value.decode() for key, value in scope["headers"]}
                try:
                    Webhook(self.secrets[number]).verify(body, headers)
                except Exception:
                    self.unverified += 1
            self.first_webhook = self.first_webhook or time.time()
            self.last_webhook = time.time()
            self.receive("webhook", f"webhook-{number}", json.loads(body)["data"])
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        return app


@contextlib.asynccontextmanager
async def serving(app):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           access_log=False, backlog=4096))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _receiver_process(port: int, secrets: dict[int, str], ready, stop, out: str) -> None:
    """The webhook receiver in a process of its own (as an NGO system is), writing its receipts at the end."""
    subscribers = Subscribers()
    subscribers.secrets, subscribers.record_all = secrets, True

    async def main() -> None:
        server = uvicorn.Server(uvicorn.Config(subscribers.receiver_app(), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off", access_log=False, backlog=4096))
        task = asyncio.create_task(server.serve())
        await eventually(lambda: asyncio.sleep(0, server.started), timeout=30, interval=0.02, what="the receiver")
        ready.set()
        while not stop.is_set():
            subscribers.write_progress(out)
            await asyncio.sleep(0.3)
        server.should_exit = True
        await task

    asyncio.run(main())
    Path(out).write_text(json.dumps({"receipts": subscribers.receipts, "requests": subscribers.webhook_requests,
                                     "unverified": subscribers.unverified, "first": subscribers.first_webhook,
                                     "last": subscribers.last_webhook}))


def _sse_process(gateway_url: str, headers: dict[str, str], clients: int, ready, stop, out: str) -> None:
    """The SSE clients in a process of their own, writing their receipts at the end."""
    subscribers = Subscribers()
    subscribers.record_all = True

    async def main() -> None:
        readies = [asyncio.Event() for _ in range(clients)]
        tasks = [asyncio.create_task(sse_client(gateway_url, headers, n, subscribers, readies[n]))
                 for n in range(clients)]
        await asyncio.gather(*(r.wait() for r in readies))
        ready.set()
        while not stop.is_set():
            subscribers.write_progress(out)
            await asyncio.sleep(0.3)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    Path(out).write_text(json.dumps({"receipts": subscribers.receipts}))


def hub_processes(options: argparse.Namespace) -> tuple[str, ...]:
    """`verbinding run` arguments for the capacity hub's processes (--hub-processes)."""
    count = getattr(options, "hub_processes", 1) or 1
    return ("--replicas", f"capacity-hub={count}") if count > 1 else ()


def hub_identity(data_dir: Path, *, organisation: str = "HVO-Querido") -> dict[str, str]:
    """Headers the capacity hub accepts for an NGO's system: signed with the stack's identity key, as the gateway
    signs what it forwards (valid for a minute: enough to register, or to open a stream)."""
    signing_key, _ = ensure_key_files(data_dir / "keys")
    return IdentitySigner(signing_key.read_text()).headers(
        Identity(subject=f"ngo-{organisation}", kind="client", roles=["ngo_partner"], organisation=organisation),
        audience="capacity-hub")


async def sse_client(gateway_url: str, headers: dict[str, str], number: int, subscribers: Subscribers,
                     ready: asyncio.Event) -> None:
    """An NGO's stream as NGO systems open it: at the gateway, which hands it off to the hub (307 and a ticket)."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=None) as http, \
            aconnect_sse(http, "GET", STREAM, headers=headers, follow_redirects=True) as source:
        async for sse in source.aiter_sse():
            if sse.event == "snapshot":
                ready.set()
            elif sse.event == "capacity":
                subscribers.receive("sse", f"sse-{number}", json.loads(sse.data))


async def kafka_client(bootstrap_servers: str, subscribers: Subscribers, ready: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer("shelter.capacity.v1", bootstrap_servers=bootstrap_servers,
                                group_id=f"bench-ngo-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest")
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=100, max_records=1000)
            if consumer.assignment():
                ready.set()
            for records in batches.values():
                for record in records:
                    subscribers.receive("kafka", "kafka", json.loads(record.value)["data"])
    finally:
        await consumer.stop()


async def _run(options: argparse.Namespace) -> dict[str, Any]:
    changes = options.events or DEFAULT_CHANGES
    endpoints, sse_clients, rate = DEFAULT_ENDPOINTS, DEFAULT_SSE_CLIENTS, DEFAULT_RATE
    placements = changes // 2
    subscribers = Subscribers()
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    with tempfile.TemporaryDirectory(prefix="verbinding-bench-") as folder:
        outputs = {"webhook": f"{folder}/webhook.json", "sse": f"{folder}/sse.json"}
        async with running_stack(Path(folder) / "data", *hub_processes(options), ports=stack_ports()) as stack, \
                httpx.AsyncClient(base_url=stack.url("gateway"), timeout=30) as gateway, \
                httpx.AsyncClient(base_url=stack.url("capacity-hub"), timeout=30) as hub:
            coordinator = await token(gateway, grant_type="password", username="pc-pieter", password="demo")
            ngo = await token(gateway, grant_type="client_credentials", client_id="ngo-hvo-querido",
                              client_secret="hvo-demo-secret")
            per_shelter = max(CAPACITY, -(-placements // SHELTERS))
            for n in range(SHELTERS):
                shelter = (await gateway.post("/api/v1/shelter/shelters", headers=coordinator, json={
                    "name": f"Shelter {n + 1}", "neighbourhood": f"Buurt {n % 4}", "operator": "HVO-Querido",
                    "capacity": per_shelter})).json()
                path = f"/api/v1/shelter/shelters/{shelter['shelter_id']}"
                await gateway.post(f"{path}/consultation", headers=coordinator,
                                   json={"held_on": "2025-01-10", "reference": f"minutes {n}"})
                (await gateway.post(f"{path}/status", headers=coordinator, json={"status": "open"})
                 ).raise_for_status()
            gate = asyncio.Semaphore(8)  # set-up, not measured: a few at a time shortens it on a busy machine

            async def register(n: int) -> str:
                async with gate:
                    answer = await gateway.post("/api/v1/shelter/residents", headers=ngo, json={
                        "pseudonym": f"B-{n:05d}", "programme": "lvv", "year_of_birth": 1980 + n % 30,
                        "vulnerability": "standard"})
                answer.raise_for_status()
                return answer.json()["resident_id"]
            residents = list(await asyncio.gather(*(register(n) for n in range(placements))))
            port = free_port()
            secrets = {}
            for n in range(endpoints):
                answer = await hub.post("/webhooks", headers=hub_identity(Path(folder) / "data"),
                                        json={"url": f"http://127.0.0.1:{port}/hook/{n}"})
                answer.raise_for_status()
                secrets[n] = answer.json()["secret"]
            readies = [spawn.Event(), spawn.Event()]
            children = [
                spawn.Process(target=_receiver_process, args=(port, secrets, readies[0], stop, outputs["webhook"])),
                spawn.Process(target=_sse_process, args=(stack.url("gateway"), ngo, sse_clients, readies[1], stop,
                                                         outputs["sse"]))]
            for child in children:
                child.start()
            kafka_ready = asyncio.Event()
            kafka = asyncio.create_task(kafka_client(f"127.0.0.1:{stack.ports.broker}", subscribers, kafka_ready))
            try:
                await asyncio.wait_for(kafka_ready.wait(), 60)
                for ready in readies:
                    await asyncio.to_thread(ready.wait, 60)
                await asyncio.sleep(1.0)
                cpu = StackCpu(stack)
                cpu.pids.update({"webhook receivers (bench)": children[0].pid, "sse clients (bench)": children[1].pid})
                cpu.start()
                load_at_start = os.getloadavg()
                subscribers.since = datetime.now().astimezone()
                started = time.perf_counter()
                placed: list[str] = []
                refused: dict[str, int] = defaultdict(int)

                async def change(n: int) -> None:
                    if n < placements:
                        answer = await gateway.post("/api/v1/shelter/placements", headers=ngo,
                                                    json={"resident_id": residents[n]})
                        if answer.status_code == 201:
                            placed.append(answer.json()["placement_id"])
                    elif n - placements < len(placed):
                        answer = await gateway.post(f"/api/v1/shelter/placements/{placed[n - placements]}/leave",
                                                    headers=ngo, json={"outcome": "other"})
                    else:
                        return
                    if answer.status_code >= 300:
                        refused[f"{answer.status_code} {answer.text[:80]}"] += 1

                pending = []
                for n in range(placements * 2):
                    if n == placements:
                        await asyncio.gather(*pending)
                    pending.append(asyncio.create_task(change(n)))
                    await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
                await asyncio.gather(*pending)
                produced_s = time.perf_counter() - started
                capacity = await gateway.get("/api/v1/shelter/shelters/capacity", headers=ngo)
                capacity.raise_for_status()
                final = {s["shelter_id"]: s["sequence"] for s in capacity.json()}
                expected = {f"webhook-{n}" for n in range(endpoints)} | {f"sse-{n}" for n in range(sse_clients)} \
                    | {"kafka"}

                async def complete() -> bool:
                    seen = subscribers.progress()
                    for out in outputs.values():
                        with contextlib.suppress(OSError, ValueError):
                            seen.update(_read(out + ".progress"))
                    return all(seen.get(name, {}).get(shelter, 0) >= sequence
                               for name in expected for shelter, sequence in final.items())
                with contextlib.suppress(AssertionError):  # reported below as lost
                    await eventually(complete, timeout=DRAIN_TIMEOUT_S, interval=0.3, what="every receipt")
                cpu.stop()
                load_at_end = os.getloadavg()
                failed = await failed_attempts(stack.ports.postgres)
            finally:
                stop.set()
                kafka.cancel()
                await asyncio.gather(kafka, return_exceptions=True)
                for child in children:
                    await asyncio.to_thread(child.join, 60)
            webhook = _read(outputs["webhook"])
            subscribers.merge(webhook["receipts"])
            subscribers.merge(_read(outputs["sse"])["receipts"])
            subscribers.webhook_requests, subscribers.unverified = webhook["requests"], webhook["unverified"]
            subscribers.first_webhook, subscribers.last_webhook = webhook["first"], webhook["last"]
    return report(subscribers, expected, final, changes=placements + len(placed), refused=dict(refused),
                  produced_s=round(produced_s, 1), endpoints=endpoints, sse_clients=sse_clients, rate=rate,
                  hub_processes=getattr(options, "hub_processes", 1),
                  load_average=[round(load_at_start[0], 2), round(load_at_end[0], 2)],
                  cpu_ms_per_change={name: round(1000 * used / max(placements + len(placed), 1), 2)
                                     for name, used in cpu.seconds.items()},
                  cpu_percent_of_one_core=cpu.percent, failed_attempts=failed)


async def failed_attempts(postgres_port: int) -> dict[str, int]:
    """The hub's failed delivery attempts by status or error (each backs its endpoint off for seconds: a few
    explain a late p99 on their own)."""
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{postgres_port}/capacity_hub")
    try:
        rows = await conn.fetch("SELECT coalesce(status_code::text, split_part(error, ':', 1)) AS why, count(*) "
                                "FROM webhook_attempt WHERE NOT delivered GROUP BY 1 ORDER BY 2 DESC")
    finally:
        await conn.close()
    return {row["why"]: row["count"] for row in rows}


def _read(path: str) -> Any:
    return json.loads(Path(path).read_text())


def report(subscribers: Subscribers, expected: set[str], final: dict[str, int], **facts: Any) -> dict[str, Any]:
    lost = out_of_order = duplicates = 0
    first_seen = subscribers.first_seen()
    for name in expected:
        for shelter, sequence in final.items():
            if shelter not in first_seen:
                continue
            seen = subscribers.sequences[name].get(shelter, [])
            out_of_order += sum(1 for a, b in itertools.pairwise(seen) if b < a)
            duplicates += len(seen) - len(set(seen))
            lost += len(set(range(first_seen[shelter], sequence + 1)) - set(seen))
    webhook_span = (subscribers.last_webhook or 0) - (subscribers.first_webhook or 0)
    result: dict[str, Any] = {
        "name": NAME, **facts, "machine": machine_facts(),
        "latency_ms": {kind: {"p50": round(percentile(values, 0.5), 1), "p99": round(percentile(values, 0.99), 1),
                              "max": round(max(values), 1), "count": len(values)}
                       for kind, values in sorted(subscribers.latency_ms.items())},
        "webhook_deliveries_per_s": round(subscribers.webhook_requests / webhook_span, 1) if webhook_span else None,
        "webhook_requests": subscribers.webhook_requests, "unverified_signatures": subscribers.unverified,
        "lost_or_undelivered_within_drain": lost, "drain_timeout_s": DRAIN_TIMEOUT_S,
        "out_of_order": out_of_order, "duplicates": duplicates,
        "target_p99_ms": TARGET_P99_MS,
    }
    result["ok"] = lost == 0 and out_of_order == 0 and subscribers.unverified == 0
    print(f"[{NAME}] {facts['changes']} placement changes at {facts['rate']:g}/s to {facts['endpoints']} webhook "
          f"endpoints, {facts['sse_clients']} SSE clients and a Kafka consumer group "
          f"(capacity hub: {facts.get('hub_processes', 1)} process(es)):")
    for kind, figures in result["latency_ms"].items():
        print(f"[{NAME}]   commit -> {kind:<8} p50 {figures['p50']:>7.1f} ms   p99 {figures['p99']:>7.1f} ms   "
              f"max {figures['max']:>7.1f} ms   ({figures['count']} receipts)")
    print(f"[{NAME}]   webhook deliveries/s {result['webhook_deliveries_per_s']}; not received within "
          f"{DRAIN_TIMEOUT_S:g} s of the end {lost}, out of order "
          f"{out_of_order}, duplicates {duplicates}, unverified {subscribers.unverified} (target p99 <= "
          f"{TARGET_P99_MS:g} ms)")
    print(f"[{NAME}]   failed attempts (each backs its endpoint off): {facts['failed_attempts'] or 'none'}")
    print(f"[{NAME}]   load average {facts['load_average'][0]} -> {facts['load_average'][1]}; CPU ms per change "
          + ", ".join(f"{name} {ms:.2f}" for name, ms in facts["cpu_ms_per_change"].items()))
    return result


def run(options: argparse.Namespace) -> dict[str, Any]:
    return asyncio.run(_run(options))
