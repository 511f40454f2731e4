"""The recognitions benchmark: COA status recognitions through the real stack, from the gateway push to a case.

It starts the whole `verbinding run` stack (gateway, intake, case-plan as their own processes, durable PostgreSQL,
the embedded broker) on free ports in a temporary data dir, and, as its clients do, through the gateway only:

1. as team lead (tl-carla), adds `CASE_MANAGERS` case managers of capacity `CAPACITY`, so that the first cases are
   assigned and the rest wait on the waitlist;
2. warms up: a few recognitions pushed and waited for (consumer groups joined, pools filled, topics made); they
   are counted apart from the measured ones;
3. pushes N recognitions (`POST /api/v1/coa/status-recognitions`, batches of `--batch`, `PUSHERS` concurrent
   pushers, a COA client-credentials token) and measures the time from the first push until every pushed person
   has a case, assigned or waitlisted (polling case-plan's database), recognitions/s, and the latency from each
   batch's 202 (client clock) to its cases' `opened_at` (database clock, same machine);
4. while it runs, samples every stage's progress (acknowledged pushes; intake's persons, outbox and processed
   events; case-plan's cases, outbox and processed events) so that a lagging stage shows; afterwards it reads
   every stage's own timestamps (person.registered_at, the PersonRegistered outbox row's published_at,
   case.opened_at) to time each hop;
5. checks that none is lost or duplicated: N persons with distinct COA numbers, one case per person, assigned =
   the sum of capacities, waitlisted = the rest, each manager's active_cases = their assigned cases;
6. does it all again on a fresh stack with two processes of every service (`--replicas`), and reports the two
   rates side by side (skip with --processes 1).

The 202 latency is the push request's: the gateway answers once the receipts and the events are committed to its
outbox; its relay publishes them from there.

Timestamps written by PostgreSQL's now() are the start of the writing transaction: the consumers handle a whole
fetch in one transaction, so registered_at / opened_at are up to one batch transaction earlier than the commit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition

from verbinding_testing.stack import RunningStack, StackPorts, running_stack

from . import RESULTS_DIR
from .backbone import machine_facts, percentile

NAME = "recognitions"
DEFAULT_RECOGNITIONS = 10_000
DEFAULT_BATCH = 500
MAX_BATCH = 1000  # the gateway takes at most this many per request
PUSHERS = 4
CASE_MANAGERS = 4
CAPACITY = 50
LANGUAGES = (["ar", "en"], ["ti"], ["fa", "en"], ["ar"], ["uk", "ru"])
WARMUP = 8
TARGET_S = 20.0
TARGET_RECOGNITIONS = 10_000
# Issue 22's targets on a 2-core machine: all cased with one process per service, CPU per recognition over the
# stack's processes (not this client), 202 -> case p99; and two processes per service no slower than one.
GOAL_CASED_S = 8.0
GOAL_CPU_MS = 1.6
GOAL_P99_MS = 5000
TIMEOUT_S = 180.0
POLL_S = 0.1  # all-cased check (one count on case-plan's database)
SAMPLE_S = 0.5  # every stage's progress
TIMELINE_EVERY_S = 2.0  # rows of the printed timeline: at least this far apart, at most TIMELINE_ROWS of them
TIMELINE_ROWS = 16
BASE_DAY = date(2024, 1, 1)
RESERVED_PORTS = {5432}  # the system PostgreSQL: never ours
TOPICS = {  # topic -> the consumer group that reads it in this stack (None: nobody yet)
    "coa.status-recognitions.v1": "intake",
    "intake.persons.v1": "case-plan",
    "case-plan.cases.v1": "intake",  # who holds which case
    "case-plan.case-managers.v1": "intake",
}
PERSON_REGISTERED = "intake.person-registered.v1"
TWO_PROCESSES = "gateway=2,intake=2,case-plan=2"


# --- the stack and its databases ---------------------------------------------------------------------

def stack_ports() -> StackPorts:
    while True:
        ports = StackPorts.free()
        if not RESERVED_PORTS & {ports.postgres, ports.broker, *ports.services.values()}:
            return ports


async def connect(stack: RunningStack, database: str) -> asyncpg.Connection:
    return await asyncpg.connect(host="127.0.0.1", port=stack.ports.postgres, user="postgres", database=database)


@dataclass
class Databases:
    intake: asyncpg.Connection
    case_plan: asyncpg.Connection
    gateway: asyncpg.Connection
    poll: asyncpg.Connection  # case-plan again: the all-cased check runs beside the sampler

    async def close(self) -> None:
        for conn in (self.intake, self.case_plan, self.gateway, self.poll):
            with contextlib.suppress(Exception):
                await conn.close()


async def open_databases(stack: RunningStack) -> Databases:
    return Databases(intake=await connect(stack, "intake"), case_plan=await connect(stack, "case_plan"),
                     gateway=await connect(stack, "gateway"), poll=await connect(stack, "case_plan"))


INTAKE_PROGRESS = """
SELECT (SELECT count(*) FROM person) AS persons,
       (SELECT count(*) FROM processed_event) AS processed,
       (SELECT count(*) FROM outbox) AS outbox,
       (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS unpublished
"""
CASE_PLAN_PROGRESS = """
SELECT (SELECT count(*) FROM "case") AS cases,
       (SELECT count(*) FROM processed_event) AS processed,
       (SELECT count(*) FROM outbox) AS outbox,
       (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS unpublished
"""


async def progress(dbs: Databases) -> dict[str, int]:
    intake = await dbs.intake.fetchrow(INTAKE_PROGRESS)
    case_plan = await dbs.case_plan.fetchrow(CASE_PLAN_PROGRESS)
    return {"persons": intake["persons"], "intake_processed": intake["processed"],
            "intake_outbox": intake["outbox"], "intake_unpublished": intake["unpublished"],
            "cases": case_plan["cases"], "case_plan_processed": case_plan["processed"],
            "case_plan_outbox": case_plan["outbox"], "case_plan_unpublished": case_plan["unpublished"]}


async def kafka_progress(broker_port: int, produced: dict[str, int]) -> dict[str, Any]:
    """Per consumed topic: what its producer published (from the producer's database), the consumer group's
    committed offsets (summed over partitions) and the lag between them; per dead-letter topic: its records.

    The embedded broker answers OffsetFetch (a consumer that never subscribes fetches a group's committed offsets
    without joining it) but not DescribeGroups, and its ListOffsets trails the real end of a partition by up to a
    batch, so dead letters are counted by reading them."""
    bootstrap = f"127.0.0.1:{broker_port}"
    found: dict[str, Any] = {}
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                              request_timeout_ms=10_000)
    await reader.start()
    try:
        await reader.topics()  # every topic's partitions, read before assign() narrows the metadata to its own
        partitions = {name: sorted(reader.partitions_for_topic(name) or ())
                      for topic in TOPICS for name in (topic, f"{topic}.dlq")}
        for topic, group in TOPICS.items():
            if group is not None and partitions[topic]:
                committed = await _committed(bootstrap, group, [TopicPartition(topic, p) for p in partitions[topic]])
                found[topic] = {"group": group, "produced": produced.get(topic), "committed": committed,
                                "lag": None if topic not in produced else produced[topic] - committed}
        for topic in TOPICS:
            if partitions[f"{topic}.dlq"]:
                found[f"{topic}.dlq"] = {"records": await _count_records(
                    reader, [TopicPartition(f"{topic}.dlq", p) for p in partitions[f"{topic}.dlq"]])}
    finally:
        await reader.stop()
    return found


async def _committed(bootstrap: str, group: str, tps: list[TopicPartition]) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                request_timeout_ms=10_000)
    await consumer.start()
    try:
        return sum([(await consumer.committed(tp)) or 0 for tp in tps])
    finally:
        await consumer.stop()


async def _count_records(reader: AIOKafkaConsumer, tps: list[TopicPartition]) -> int:
    reader.assign(tps)
    await reader.seek_to_beginning(*tps)
    count = 0
    while batches := await reader.getmany(timeout_ms=500, max_records=10_000):
        count += sum(len(records) for records in batches.values())
    return count


async def kafka_progress_or_error(stack: RunningStack, dbs: Databases) -> dict[str, Any]:
    produced = {
        "coa.status-recognitions.v1": await dbs.gateway.fetchval(
            "SELECT coalesce(sum(deliveries), 0) FROM coa_receipt"),
        "intake.persons.v1": await dbs.intake.fetchval(
            "SELECT count(*) FROM outbox WHERE topic = 'intake.persons.v1' AND published_at IS NOT NULL"),
    }
    try:
        return await asyncio.wait_for(kafka_progress(stack.ports.broker, produced), 30)
    except Exception as exc:  # a diagnosis aid only: never let it hide the figures
        return {"error": repr(exc)}


# --- CPU of the stack's processes ----------------------------------------------------------------------

class StackCpu:
    """CPU seconds each process of the stack (and this one) used over a span; PostgreSQL with its backends."""

    def __init__(self, stack: RunningStack) -> None:
        self.pids = {**stack.pids(), "bench (this process)": os.getpid()}
        self._start: dict[str, float] = {}
        self._began = 0.0
        self.percent: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    @staticmethod
    def _cpu(pid: int, with_children: bool) -> float:
        total = 0.0
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for proc in [root, *(root.children(recursive=True) if with_children else [])]:
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    total += times.user + times.system
        return total

    def _all(self) -> dict[str, float]:
        return {name: self._cpu(pid, with_children=name == "postgres") for name, pid in self.pids.items()}

    def start(self) -> None:
        self._start = self._all()
        self._began = time.perf_counter()

    def stop(self) -> None:
        wall = time.perf_counter() - self._began
        now = self._all()
        self.seconds = {name: round(now[name] - self._start[name], 2) for name in self.pids}
        self.percent = {name: round(100 * used / wall, 1) for name, used in self.seconds.items()}


# --- the clients' side ---------------------------------------------------------------------------------

async def token(gateway: httpx.AsyncClient, **form: str) -> dict[str, str]:
    response = await gateway.post("/oauth/token", data=form)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def recognitions(count: int, prefix: str, seed: int) -> list[dict[str, Any]]:
    """`count` newcomers with distinct COA numbers, recognised on random days over two years (so the waitlist
    order is not the push order)."""
    rng = random.Random(seed)
    return [{
        "coa_registration_number": f"{prefix}-{n:06d}",
        "recognised_on": (BASE_DAY + timedelta(days=rng.randrange(730))).isoformat(),
        "family_name": f"Family{n}", "given_names": f"Person {n}", "date_of_birth": "1990-05-17",
        "gender": rng.choice(["female", "male", "x"]), "country_of_origin": rng.choice(["SY", "ER", "AF", "UA"]),
        "languages": rng.choice(LANGUAGES), "reception_centre": "AZC Amsterdam Willinklaan",
        "family_reunification_with": None,
    } for n in range(count)]


@dataclass
class Push:
    numbers: list[str]
    body: bytes
    sent: float = 0.0
    acked: float = 0.0
    attempts: int = 0


@dataclass
class Pushed:
    batches: list[Push] = field(default_factory=list)
    acked: int = 0
    retries: int = 0


async def push_all(gateway: httpx.AsyncClient, coa: dict[str, str], batches: list[Push], pushers: int,
                   pushed: Pushed) -> None:
    queue: asyncio.Queue[Push] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    headers = {**coa, "Content-Type": "application/json"}

    async def pusher() -> None:
        while not queue.empty():
            batch = queue.get_nowait()
            batch.sent = time.perf_counter()
            while True:
                batch.attempts += 1
                response = await gateway.post("/api/v1/coa/status-recognitions", content=batch.body, headers=headers)
                if response.status_code == 503:  # the broker did not acknowledge: the COA sends again
                    pushed.retries += 1
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                if response.status_code != 202 or response.json()["accepted"] != len(batch.numbers):
                    raise RuntimeError(f"push answered {response.status_code}: {response.text[:500]}")
                break
            batch.acked = time.perf_counter()
            pushed.acked += len(batch.numbers)
            pushed.batches.append(batch)

    await asyncio.gather(*(pusher() for _ in range(pushers)))


def make_batches(items: list[dict[str, Any]], size: int) -> list[Push]:
    return [Push(numbers=[r["coa_registration_number"] for r in items[i:i + size]],
                 body=json.dumps({"recognitions": items[i:i + size]}).encode())
            for i in range(0, len(items), size)]


async def wait_until_cased(dbs: Databases, total: int, deadline: float) -> bool:
    while time.perf_counter() < deadline:
        if await dbs.poll.fetchval('SELECT count(*) FROM "case"') >= total:
            return True
        await asyncio.sleep(POLL_S)
    return False


# --- the run -------------------------------------------------------------------------------------------

class Clock:
    """perf_counter readings as wall-clock datetimes (one reference pair, so they stay consistent)."""

    def __init__(self) -> None:
        self.perf, self.wall = time.perf_counter(), time.time()

    def at(self, perf: float) -> datetime:
        return datetime.fromtimestamp(self.wall + (perf - self.perf), UTC)


async def _measure(stack: RunningStack, count: int, batch_size: int, result: dict[str, Any]) -> None:
    dbs = await open_databases(stack)
    try:
        result["postgres_server"] = {name: await dbs.intake.fetchval(f"SHOW {name}")
                                     for name in ("server_version", "fsync", "synchronous_commit")}
        async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=60, trust_env=False,
                                     limits=httpx.Limits(max_connections=PUSHERS + 2)) as gateway:
            await _run_journey(stack, dbs, gateway, count, batch_size, result)
    finally:
        await dbs.close()


async def _run_journey(stack: RunningStack, dbs: Databases, gateway: httpx.AsyncClient, count: int,
                       batch_size: int, result: dict[str, Any]) -> None:
    lead = await token(gateway, grant_type="password", username="tl-carla", password="demo")
    coa = await token(gateway, grant_type="client_credentials", client_id="coa", client_secret="coa-demo-secret")
    for n in range(1, CASE_MANAGERS + 1):
        response = await gateway.post("/api/v1/case-plan/case-managers", headers=lead, json={
            "subject": f"bench-cm-{n}", "name": f"Bench Manager {n}", "languages": LANGUAGES[n % len(LANGUAGES)],
            "capacity": CAPACITY})
        if response.status_code != 201:
            raise RuntimeError(f"adding a case manager answered {response.status_code}: {response.text[:500]}")
    result["setup"] = {"case_managers": CASE_MANAGERS, "capacity": CAPACITY, "warmup": WARMUP}

    print(f"  warm-up ({WARMUP} recognitions) ...", flush=True)
    started = time.perf_counter()
    await push_all(gateway, coa, make_batches(recognitions(WARMUP, "V-WARM", seed=1), WARMUP), 1, Pushed())
    if not await wait_until_cased(dbs, WARMUP, started + 120):
        raise RuntimeError(f"the warm-up recognitions got no case in 120 s:\n{stack.output[-5000:]}")
    result["setup"]["warmup_cased_s"] = round(time.perf_counter() - started, 2)

    items = recognitions(count, "V-BENCH", seed=7)
    batches = make_batches(items, batch_size)
    total = count + WARMUP
    pushed = Pushed()
    samples: list[dict[str, Any]] = []
    cpu = StackCpu(stack)
    clock = Clock()
    print(f"  pushing {count:,} recognitions ({len(batches)} batches of <= {batch_size}, {PUSHERS} pushers) ...",
          flush=True)

    first_push = time.perf_counter()
    deadline = first_push + TIMEOUT_S

    async def sample_forever() -> None:
        while True:
            at = time.perf_counter()
            samples.append({"t": round(at - first_push, 2), "acked": pushed.acked, **await progress(dbs)})
            await asyncio.sleep(max(0.0, SAMPLE_S - (time.perf_counter() - at)))

    cpu.start()
    sampler = asyncio.create_task(sample_forever())
    pushing = asyncio.create_task(push_all(gateway, coa, batches, PUSHERS, pushed))
    cased = asyncio.create_task(wait_until_cased(dbs, total, deadline))
    try:
        await asyncio.wait([cased, pushing], return_when=asyncio.FIRST_COMPLETED)
        if pushing.done() and pushing.exception() is not None:
            raise pushing.exception()  # a push that failed: no point waiting for its cases
        finished = await cased
        cased_at = time.perf_counter()
        cpu.stop()
        if not pushing.done():
            pushing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pushing
    finally:
        for task in (cased, pushing):
            task.cancel()
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    samples.append({"t": round(time.perf_counter() - first_push, 2), "acked": pushed.acked, **await progress(dbs)})

    last_ack = max((b.acked for b in pushed.batches), default=first_push)
    request_s = [b.acked - b.sent for b in pushed.batches]
    cased_s = cased_at - first_push
    result["run"] = {
        "recognitions": count, "batch": batch_size, "batches": len(batches), "pushers": PUSHERS,
        "finished": finished, "timeout_s": TIMEOUT_S,
        "cased_s": round(cased_s, 2) if finished else None,
        "recognitions_per_s": round(count / cased_s) if finished else None,
        "push_s": round(last_ack - first_push, 2),
        "push_per_s": round(pushed.acked / (last_ack - first_push)) if pushed.batches else 0,
        "push_request_p50_ms": round(1000 * percentile(request_s, 0.5)),
        "push_request_p99_ms": round(1000 * percentile(request_s, 0.99)),
        "push_retries": pushed.retries,
        "acked": pushed.acked,
    }
    result["cpu_percent_of_one_core"] = cpu.percent
    result["cpu_seconds"] = cpu.seconds
    result["cpu_ms_per_recognition"] = {name: round(1000 * used / count, 2) for name, used in cpu.seconds.items()}
    result["samples"] = samples
    result["stages_sampled"] = stage_done_times(samples, total)

    if not finished:
        # The stack keeps working: read the databases and the consumer groups' offsets together, first.
        result["backlog"] = {"t": round(time.perf_counter() - first_push, 1), "acked": pushed.acked,
                             **await progress(dbs), "kafka": await kafka_progress_or_error(stack, dbs),
                             "stack_warnings": [line for line in stack.lines
                                                if "WARNING" in line or "ERROR" in line][-20:]}
    # Where each recognition was when: the push's 202, intake's row, the relay's publish, case-plan's case.
    ack_wall = {number: clock.at(batch.acked) for batch in pushed.batches for number in batch.numbers}
    result["hops"] = await hop_timings(dbs, ack_wall, clock.at(first_push))
    result["checks"] = await checks(dbs, count, total)
    if finished:
        result["kafka"] = await kafka_progress_or_error(stack, dbs)


def stage_done_times(samples: list[dict[str, Any]], total: int) -> dict[str, float | None]:
    """The first sample (s after the first push) at which each stage had passed everything on."""
    def first(predicate) -> float | None:
        return next((s["t"] for s in samples if predicate(s)), None)

    return {
        "intake persons": first(lambda s: s["persons"] >= total),
        "intake relay (outbox drained)": first(lambda s: s["persons"] >= total and s["intake_unpublished"] == 0),
        "case-plan cases": first(lambda s: s["cases"] >= total),
        "case-plan relay (outbox drained)": first(lambda s: s["cases"] >= total and s["case_plan_unpublished"] == 0),
    }


async def hop_timings(dbs: Databases, ack_wall: dict[str, datetime], first_push: datetime) -> dict[str, Any]:
    """Per measured recognition: 202 -> person.registered_at -> PersonRegistered published_at -> case.opened_at."""
    persons = await dbs.intake.fetch(
        "SELECT p.coa_registration_number AS number, p.id, p.registered_at, o.published_at "
        "FROM person p LEFT JOIN outbox o ON o.key = p.id::text AND o.event_type = $1 "
        "WHERE p.coa_registration_number LIKE 'V-BENCH-%'", PERSON_REGISTERED)
    opened = {row["person_id"]: row["opened_at"]
              for row in await dbs.case_plan.fetch('SELECT person_id, opened_at FROM "case"')}
    # The gateway's relay: when each pushed recognition left the gateway's outbox for Kafka.
    gateway_published = {row["key"]: row["published_at"] for row in await dbs.gateway.fetch(
        "SELECT key, published_at FROM outbox WHERE key LIKE 'V-BENCH-%' AND published_at IS NOT NULL")}
    hops: dict[str, list[float]] = {"202 -> case opened": [], "202 -> person registered": [],
                                    "202 -> gateway relay published": [], "gateway published -> registered": [],
                                    "registered -> relay published": [], "published -> case opened": []}
    stamps: dict[str, list[datetime]] = {"gateway published": [], "registered": [], "published": [], "opened": []}

    def ms(later: datetime, earlier: datetime) -> float:
        return (later - earlier).total_seconds() * 1000

    for row in persons:
        ack = ack_wall.get(row["number"])
        stamps["registered"].append(row["registered_at"])
        if ack is not None:
            hops["202 -> person registered"].append(ms(row["registered_at"], ack))
        if (left_gateway := gateway_published.get(row["number"])) is not None:
            stamps["gateway published"].append(left_gateway)
            hops["gateway published -> registered"].append(ms(row["registered_at"], left_gateway))
            if ack is not None:
                hops["202 -> gateway relay published"].append(ms(left_gateway, ack))
        if row["published_at"] is not None:
            stamps["published"].append(row["published_at"])
            hops["registered -> relay published"].append(ms(row["published_at"], row["registered_at"]))
        case_opened = opened.get(row["id"])
        if case_opened is not None:
            stamps["opened"].append(case_opened)
            if ack is not None:
                hops["202 -> case opened"].append(ms(case_opened, ack))
            if row["published_at"] is not None:
                hops["published -> case opened"].append(ms(case_opened, row["published_at"]))
    latency = {name: {"count": len(values), "p50_ms": round(percentile(values, 0.5)),
                      "p99_ms": round(percentile(values, 0.99)), "max_ms": round(max(values, default=float("nan")))}
               for name, values in hops.items() if values or not name.startswith(("202 -> gateway", "gateway"))}
    # Each stage's own first and last timestamp, in s after the first push, and its rate over that span.
    spans = {}
    for name, values in stamps.items():
        if values:
            first, last = min(values), max(values)
            spans[name] = {"first_s": round((first - first_push).total_seconds(), 2),
                           "last_s": round((last - first_push).total_seconds(), 2),
                           "per_s": round(len(values) / max((last - first).total_seconds(), 1e-3))}
    return {"latency": latency, "stage_spans": spans}


async def checks(dbs: Databases, count: int, total: int) -> dict[str, Any]:
    """None lost, none duplicated, the caseload rule kept."""
    persons = await dbs.intake.fetchrow(
        "SELECT count(*) AS all_persons, count(*) FILTER (WHERE coa_registration_number LIKE 'V-BENCH-%') AS bench, "
        "count(DISTINCT coa_registration_number) FILTER (WHERE coa_registration_number LIKE 'V-BENCH-%') "
        "AS bench_distinct FROM person")
    person_ids = {row["id"] for row in await dbs.intake.fetch(
        "SELECT id FROM person WHERE coa_registration_number LIKE 'V-BENCH-%'")}
    cases = await dbs.case_plan.fetchrow(
        "SELECT count(*) AS cases, count(DISTINCT person_id) AS persons, "
        "count(*) FILTER (WHERE status = 'assigned') AS assigned, "
        "count(*) FILTER (WHERE status = 'waitlisted') AS waitlisted FROM \"case\"")
    cased_ids = {row["person_id"] for row in await dbs.case_plan.fetch('SELECT person_id FROM "case"')}
    managers = await dbs.case_plan.fetch(
        "SELECT m.capacity, m.active_cases, "
        "(SELECT count(*) FROM \"case\" c WHERE c.case_manager_id = m.id AND c.status = 'assigned') AS held "
        "FROM case_manager m")
    receipts = await dbs.gateway.fetchrow(
        "SELECT count(*) AS receipts, count(*) FILTER (WHERE deliveries > 1) AS redelivered FROM coa_receipt")
    capacity = sum(m["capacity"] for m in managers)
    expected_assigned = min(capacity, total)
    found = {
        "persons_measured": persons["bench"], "persons_measured_distinct_coa": persons["bench_distinct"],
        "persons_total": persons["all_persons"], "cases_total": cases["cases"],
        "cases_distinct_persons": cases["persons"], "measured_persons_with_a_case": len(person_ids & cased_ids),
        "assigned": cases["assigned"], "waitlisted": cases["waitlisted"], "capacity_total": capacity,
        "managers_within_capacity": all(m["active_cases"] <= m["capacity"] for m in managers),
        "managers_active_cases_match_assigned": all(m["active_cases"] == m["held"] for m in managers),
        "gateway_receipts": receipts["receipts"], "gateway_redelivered": receipts["redelivered"],
        "expected_persons": count, "expected_total": total,
    }
    found["no_duplicates"] = (persons["bench"] == persons["bench_distinct"] and cases["cases"] == cases["persons"]
                              and persons["all_persons"] <= total and cases["cases"] <= total)
    found["complete"] = (persons["bench"] == persons["bench_distinct"] == count and persons["all_persons"] == total
                         and cases["cases"] == cases["persons"] == total and len(person_ids & cased_ids) == count)
    found["caseload_rule"] = (cases["assigned"] == expected_assigned
                              and cases["waitlisted"] == cases["cases"] - expected_assigned
                              and found["managers_within_capacity"] and found["managers_active_cases_match_assigned"])
    return found


# --- the report ----------------------------------------------------------------------------------------

def _row(label: str, value: str, note: str = "") -> str:
    return f"  {label:<48} {value:>14}  {note}"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def backbone_ceiling(options: argparse.Namespace) -> dict[str, Any]:
    """The backbone's end-to-end events/s: from this invocation if it ran, else the last stored result (labelled)."""
    earlier = getattr(options, "results", {}).get("backbone")
    if earlier is not None:
        return {"events_per_s": earlier["end_to_end"]["events_per_s"], "from": "this run"}
    path = RESULTS_DIR / "backbone.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        stored = json.loads(path.read_text())
        return {"events_per_s": stored["end_to_end"]["events_per_s"],
                "from": f"NOT this run: {path.name} of {stored.get('at', '?')}"}
    return {"events_per_s": None, "from": "backbone not run"}


STAGES = (("registered", "intake consumer"), ("published", "intake relay"), ("opened", "case-plan consumer"))


def limited_by(result: dict[str, Any]) -> str:
    """The slowest stage (a pipeline runs at its slowest stage's rate), and how busy the processes were."""
    spans = result["hops"]["stage_spans"]
    rates = [("gateway push", result["run"]["push_per_s"])] + [
        (label, spans[stage]["per_s"]) for stage, label in STAGES if stage in spans]
    name, rate = min(rates, key=lambda item: item[1])
    cpu = result["cpu_percent_of_one_core"]
    busiest = max((n for n in cpu if n != "bench (this process)"), key=cpu.get)
    return (f"{name} at {rate:,}/s, the slowest stage ({TARGET_RECOGNITIONS / TARGET_S:,.0f}/s needed for the "
            f"target); busiest process {busiest} {cpu[busiest]:.0f}% of one core, all processes "
            f"{sum(cpu.values()):.0f}% of {100 * (os.cpu_count() or 1)}%")


def timeline(result: dict[str, Any]) -> list[str]:
    lines = [f"  {'t (s)':>6} {'202 acked':>10} {'persons':>8} {'intake unpub':>13} {'cases':>7} "
             f"{'case-plan unpub':>16}"]
    next_t = 0.0
    samples = result["samples"]
    every = max(TIMELINE_EVERY_S, round(samples[-1]["t"] / TIMELINE_ROWS))
    for n, s in enumerate(samples):
        if s["t"] + 1e-9 >= next_t or n == len(samples) - 1:
            lines.append(f"  {s['t']:>6.1f} {s['acked']:>10,} {s['persons']:>8,} {s['intake_unpublished']:>13,} "
                         f"{s['cases']:>7,} {s['case_plan_unpublished']:>16,}")
            next_t = s["t"] + every
    return lines


def report(result: dict[str, Any]) -> None:
    m, run, checks_, hops = result["machine"], result["run"], result["checks"], result["hops"]
    pg, cpu, ceiling = result["postgres_server"], result["cpu_percent_of_one_core"], result["backbone_ceiling"]
    latency, spans = hops["latency"], hops["stage_spans"]
    count = run["recognitions"]
    ceiling_text = (f"{ceiling['events_per_s']:,} events/s ({ceiling['from']})" if ceiling["events_per_s"]
                    else ceiling["from"])
    lines = [
        "",
        "Recognitions benchmark: COA push -> gateway -> Kafka -> intake -> outbox/relay -> Kafka -> case-plan",
        "=" * 100,
        _row("cores / cpu", f"{m['cores']}", m["cpu"]),
        _row("load average at start / end", " ".join(map(str, m["load_average_at_start"])),
             " ".join(map(str, result["load_average_at_end"])) + "  (other processes make figures noisy)"),
        _row("postgresql", pg["server_version"], f"fsync={pg['fsync']} synchronous_commit={pg['synchronous_commit']}"),
        _row("stack start (verbinding run, fresh data dir)", _s(result["stack_start_s"])),
        _row("case managers x capacity", f"{CASE_MANAGERS} x {CAPACITY}",
             f"warm-up: {WARMUP} recognitions cased in {result['setup']['warmup_cased_s']:.1f} s (not measured)"),
        "-" * 100,
        _row("recognitions / batch / pushers", f"{count:,}",
             f"{run['batch']} per request ({run['batches']} requests), {run['pushers']} concurrent pushers"),
        _row("push: first request -> last 202", f"{run['push_per_s']:,} /s",
             f"{run['push_s']:.2f} s; 503 retries {run['push_retries']}"),
        _row("202 latency per request p50 / p99", f"{run['push_request_p50_ms']} / {run['push_request_p99_ms']} ms",
             f"{run['batch']} recognitions a request: receipts and outbox rows committed, then 202"),
    ]
    if run["finished"]:
        lines += [
            _row("all cased: first push -> every person has a case", _s(run["cased_s"]),
                 f"(polled every {POLL_S:.1f} s)"),
            _row("recognitions/s (end to end)", f"{run['recognitions_per_s']:,} /s",
                 f"backbone ceiling: {ceiling_text}"),
        ]
    else:
        lines.append(_row("all cased", "TIMED OUT", f"after {run['timeout_s']:.0f} s: see the backlog below"))
    e2e = latency["202 -> case opened"]
    lines += [
        _row("latency 202 -> case opened_at p50 / p99", f"{e2e['p50_ms']:,} / {e2e['p99_ms']:,} ms",
             f"max {e2e['max_ms']:,} ms; {e2e['count']:,} cases; opened_at = case-plan's transaction start"),
        "stages: each one's own timestamps (s after the first push: first .. last, rate over that span)",
        _row("gateway 202s (client clock)", f"0.0 .. {run['push_s']:.1f} s", f"{run['push_per_s']:,} /s"),
    ]
    for stage, label in (("gateway published", "gateway relay: recognition published_at"),
                         ("registered", "intake consumer: person.registered_at"),
                         ("published", "intake relay: PersonRegistered published_at"),
                         ("opened", "case-plan consumer: case.opened_at")):
        if stage in spans:
            span = spans[stage]
            lines.append(_row(label, f"{span['first_s']:.1f} .. {span['last_s']:.1f} s", f"{span['per_s']:,} /s"))
    sampled = result["stages_sampled"]
    lines.append(_row("case-plan relay: outbox drained (sampled)", _s(sampled["case-plan relay (outbox drained)"]),
                      f"its events (CaseOpened + assigned/waitlisted) are not on the path to 'cased'; sampled every "
                      f"{SAMPLE_S} s"))
    lines.append("hop latency p50 / p99 (ms)")
    for name in ("202 -> gateway relay published", "gateway published -> registered", "202 -> person registered",
                 "registered -> relay published", "published -> case opened"):
        if name not in latency:
            continue
        hop = latency[name]
        lines.append(_row(name, f"{hop['p50_ms']:,} / {hop['p99_ms']:,}", f"max {hop['max_ms']:,}"))
    lines += [
        _row("CPU (% of one core), first push -> all cased", "", ", ".join(f"{n} {v}%" for n, v in cpu.items())),
        _row("CPU per recognition", "",
             ", ".join(f"{n} {v:.2f} ms" for n, v in result["cpu_ms_per_recognition"].items())
             + "  (steadier than rates when other processes share the CPU)"),
        "progress (sampled)",
        *timeline(result),
        "checks",
        _row("persons (measured, distinct COA numbers)",
             f"{checks_['persons_measured']:,} / {checks_['persons_measured_distinct_coa']:,}",
             f"expected {count:,}; all persons {checks_['persons_total']:,} (incl. {WARMUP} warm-up)"),
        _row("cases (all, distinct persons)", f"{checks_['cases_total']:,} / {checks_['cases_distinct_persons']:,}",
             f"expected {checks_['expected_total']:,}; measured persons with a case "
             f"{checks_['measured_persons_with_a_case']:,}"),
        _row("assigned / waitlisted", f"{checks_['assigned']:,} / {checks_['waitlisted']:,}",
             f"capacity {checks_['capacity_total']} = {CASE_MANAGERS} x {CAPACITY}; managers within capacity: "
             f"{'yes' if checks_['managers_within_capacity'] else 'NO'}; active_cases = assigned cases: "
             f"{'yes' if checks_['managers_active_cases_match_assigned'] else 'NO'}"),
        _row("gateway receipts / redelivered", f"{checks_['gateway_receipts']:,} / {checks_['gateway_redelivered']}"),
        _row("none lost, none duplicated, caseload rule",
             "yes" if result["ok"] and run["finished"] else
             ("NO" if not result["ok"] else "unfinished (no duplicates so far)"),
             f"complete {checks_['complete']}, no duplicates {checks_['no_duplicates']}, "
             f"caseload rule {checks_['caseload_rule']}"),
    ]
    kafka = result.get("kafka") or result.get("backlog", {}).get("kafka", {})
    dlq = {name: entry["records"] for name, entry in kafka.items() if name.endswith(".dlq")}
    if dlq:
        lines.append(_row("dead letters", f"{sum(dlq.values())}", ", ".join(f"{n} {v}" for n, v in dlq.items())))
    if not run["finished"]:
        backlog = result["backlog"]
        lines += [
            f"TIMED OUT after {run['timeout_s']:.0f} s: how far it got, and where the backlog sits "
            f"(at {backlog['t']:.1f} s; the checks above were read a little later)",
            _row("202 acked / persons / cases", f"{backlog['acked']:,} / {backlog['persons']:,} / {backlog['cases']:,}",
                 f"of {count + WARMUP:,} (incl. warm-up)"),
            _row("intake outbox unpublished / all",
                 f"{backlog['intake_unpublished']:,} / {backlog['intake_outbox']:,}"),
            _row("case-plan outbox unpublished / all",
                 f"{backlog['case_plan_unpublished']:,} / {backlog['case_plan_outbox']:,}"),
            _row("processed events intake / case-plan",
                 f"{backlog['intake_processed']:,} / {backlog['case_plan_processed']:,}"),
        ]
        for name, entry in kafka.items():
            if "group" in entry:
                lag = "-" if entry["lag"] is None else f"{entry['lag']:,}"
                lines.append(_row(f"kafka {name} -> {entry['group']}: lag", lag,
                                  f"produced {entry['produced']:,}, committed offsets {entry['committed']:,}"))
        if "error" in kafka:
            lines.append(_row("kafka progress", "unavailable", kafka["error"]))
        queues = [(backlog["intake_unpublished"], "intake's outbox (relay)"),
                  (backlog["case_plan_unpublished"], "case-plan's outbox (relay)")]
        queues += [(entry["lag"], f"Kafka {name}, before {entry['group']}'s consumer")
                   for name, entry in kafka.items() if entry.get("lag") is not None]
        size, where = max(queues)
        lines.append(_row("largest backlog", f"{size:,}", where))
        lines += [f"  | {line}" for line in backlog["stack_warnings"]]
    lines.append(_row("limited by", "", result["limited_by"]))
    lines += processes_rows(result)
    met = run["finished"] and run["cased_s"] <= TARGET_S and count >= TARGET_RECOGNITIONS
    rate = f"{run['recognitions_per_s']:,} recognitions/s" if run["finished"] else "unfinished"
    lines += ["-" * 100] + [_row(f"goal: {name}", shown, f"target {target}: {'met' if ok else 'NOT met'}")
                            for name, shown, target, ok in goals(result)]
    lines += [
        "-" * 100,
        f"target: all {TARGET_RECOGNITIONS:,} cased within {TARGET_S:.0f} s: {'met' if met else 'not met'}"
        f"{'' if count >= TARGET_RECOGNITIONS else f' (only {count:,} pushed)'}   "
        f"[{rate} vs backbone ceiling {ceiling_text}]",
        _row("recognitions bench time", f"{result['total_s']:.1f} s"),
        "",
    ]
    print("\n".join(lines), flush=True)


def goals(result: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(what, measured, target, met) for each of the targets this benchmark is held to (GOAL_*)."""
    run = result["run"]
    cased = run["cased_s"] if run["finished"] else float("inf")
    cpu = sum(ms for name, ms in result["cpu_ms_per_recognition"].items() if not name.startswith("bench"))
    p99 = result["hops"]["latency"]["202 -> case opened"]["p99_ms"]
    found = [("all cased, one process each", f"{cased:.1f} s", f"<= {GOAL_CASED_S:g} s", cased <= GOAL_CASED_S),
             ("CPU per recognition, all processes", f"{cpu:.2f} ms", f"<= {GOAL_CPU_MS:g} ms", cpu <= GOAL_CPU_MS),
             ("202 -> case p99", f"{p99:,} ms", f"<= {GOAL_P99_MS:,} ms", p99 <= GOAL_P99_MS)]
    two = result.get("two_processes")
    if two:
        two_cased = two["run"]["cased_s"] if two["run"]["finished"] else float("inf")
        found.append(("all cased, two processes each", f"{two_cased:.1f} s", f"<= one process's {cased:.1f} s",
                      two_cased <= cased))
    return found


def processes_rows(result: dict[str, Any]) -> list[str]:
    """One process of every service beside two of each, from this same invocation."""
    two = result.get("two_processes")
    if not two:
        return []
    rows = ["processes per service (same invocation, each on a fresh stack)"]
    for label, run_, e2e in (("1 each", result["run"], result["hops"]["latency"]["202 -> case opened"]),
                             (f"2 each ({two['replicas']})", two["run"], two["latency_202_to_case"])):
        rate = f"{run_['recognitions_per_s']:,} /s" if run_["finished"] else "unfinished"
        rows.append(_row(f"  {label}", rate, f"all cased {_s(run_['cased_s'])}; 202 p50/p99 "
                                             f"{run_['push_request_p50_ms']}/{run_['push_request_p99_ms']} ms; "
                                             f"202 -> case p50/p99 {e2e['p50_ms']:,}/{e2e['p99_ms']:,} ms"))
    checks_ = two["checks"]
    rows.append(_row("  2 each: none lost, none duplicated, caseload rule",
                     "yes" if checks_["complete"] and checks_["no_duplicates"] and checks_["caseload_rule"] else "NO"))
    return rows


def run(options: argparse.Namespace) -> dict[str, Any]:
    count = getattr(options, "recognitions", None) or DEFAULT_RECOGNITIONS
    batch = getattr(options, "batch", None) or DEFAULT_BATCH
    if not 1 <= batch <= MAX_BATCH or count < 1:
        raise SystemExit(f"--batch must be 1..{MAX_BATCH} and --recognitions at least 1")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    result: dict[str, Any] = {"benchmark": NAME, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                              "machine": machine_facts(), "backbone_ceiling": backbone_ceiling(options)}
    print(f"[{NAME}] starting the stack (verbinding run: PostgreSQL, broker, gateway, intake, case-plan) ...",
          flush=True)

    async def measured(arguments: tuple[str, ...], into: dict[str, Any]) -> None:
        with tempfile.TemporaryDirectory(prefix="verbinding-bench-recognitions-") as folder:
            os.chmod(folder, 0o755)  # PostgreSQL runs as a user of its own when we are root
            began = time.perf_counter()
            async with running_stack(Path(folder) / "data", *arguments, ports=stack_ports()) as stack:
                into["stack_start_s"] = round(time.perf_counter() - began, 1)
                await _measure(stack, count, batch, into)
                stopping = time.perf_counter()
            into["stack_stop_s"] = round(time.perf_counter() - stopping, 1)

    async def main() -> None:
        await measured((), result)
        if getattr(options, "processes", 2) >= 2:
            print(f"[{NAME}] again, with two processes of every service ({TWO_PROCESSES}) ...", flush=True)
            two: dict[str, Any] = {}
            await measured(("--replicas", TWO_PROCESSES), two)
            result["two_processes"] = {"replicas": TWO_PROCESSES, "run": two["run"], "checks": two["checks"],
                                       "latency_202_to_case": two["hops"]["latency"]["202 -> case opened"],
                                       "cpu_percent_of_one_core": two["cpu_percent_of_one_core"]}

    asyncio.run(main())
    result["target_s"] = TARGET_S
    result["target_met"] = bool(result["run"]["finished"] and result["run"]["cased_s"] <= TARGET_S
                                and count >= TARGET_RECOGNITIONS)
    result["ok"] = all(
        entry["checks"]["no_duplicates"]
        and (not entry["run"]["finished"] or (entry["checks"]["complete"] and entry["checks"]["caseload_rule"]))
        for entry in (result, result.get("two_processes") or result))
    result["limited_by"] = limited_by(result)
    result["goals"] = [{"goal": name, "measured": shown, "target": target, "met": ok}
                       for name, shown, target, ok in goals(result)]
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["total_s"] = round(time.perf_counter() - started, 1)
    report(result)
    return result
