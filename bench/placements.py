"""The placement burst: 100 concurrent placement requests into one 10-bed pool, through the gateway.

It starts the whole `verbinding run` stack on free ports with the gateway's production deadline
(`downstream_timeout_s` 1.5 s), and then:
1. through the gateway, as the LVV coordinator (pc-pieter) opens one shelter of `CAPACITY` beds of HVO-Querido and,
   as HVO-Querido (ngo-hvo-querido), registers `REQUESTS` residents of mixed vulnerability;
2. sends all `REQUESTS` placement requests at once from a load generator in a process of its own (bench/burst.py,
   about 0.3 ms of CPU a request) and prints p50/p99/max of the answers, the count per status, the load average and
   each process's CPU per request beside them, the client's included (target: p99 <= 1 s, no 5xx);
3. checks in shelter-placement's database that occupancy stayed within capacity, that every 201 was stored and
   nothing else, and that each pool's waitlist order equals the order of its displayed request times;
4. profiles the pool's critical section in this process: shelter-placement's app on the same database (its real
   routes, an identity this process signs), the same burst into a second pool, with every statement timed:
   how long each transaction waited for the pool's lock and held it (lock taken until commit), and which
   statements ran while it was held.
Timings on a shared machine move with its load: they are printed beside it and never fail the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from sqlalchemy import event
from sqlalchemy.orm import Session

from verbinding_common.auth import IdentitySigner, generate_signing_key
from verbinding_testing.fixtures import identity_headers
from verbinding_testing.stack import running_stack

from .backbone import percentile
from .recognitions import stack_ports, token

NAME = "placements"
REQUESTS = 100
CAPACITY = 10
TARGET_P99_S = 1.0
GATEWAY_DEADLINE_S = "1.5"  # the production setting (the test stacks' default is 15 s, for busy machines)
VULNERABILITIES = ["acute", "high", "elevated", "standard"]
SET_UP_AT_ONCE = 10
# The statements that take the pool's lock: on its own (leave, capacity, and placement before migration 0002), or
# inside the placement decision's function. "Held" counts from when such a statement returns until the commit.
POOL_LOCK = ("SELECT pg_advisory_xact_lock", "SELECT * FROM place_or_waitlist(")


def _figures(timings: list[float]) -> dict[str, float]:
    return {"p50_s": round(percentile(timings, 0.5), 3), "p99_s": round(percentile(timings, 0.99), 3),
            "max_s": round(max(timings), 3)}


async def _burst(post, bodies: list[dict[str, Any]]) -> tuple[list[float], Counter]:
    """All requests at once; each one's answer time and the count per status."""
    start = asyncio.Event()

    async def one(body: dict[str, Any]) -> tuple[float, str]:
        await start.wait()
        began = time.perf_counter()
        try:
            answer = await post(body)
            outcome = str(answer.status_code)
        except httpx.TimeoutException:
            outcome = "client timeout"
        return time.perf_counter() - began, outcome

    tasks = [asyncio.create_task(one(body)) for body in bodies]
    await asyncio.sleep(0.05)
    start.set()
    done = await asyncio.gather(*tasks)
    return [seconds for seconds, _ in done], Counter(outcome for _, outcome in done)


async def _burst_elsewhere(url: str, headers: dict[str, str], bodies: list[dict[str, Any]],
                           pids: dict[str, int]) -> tuple[list[float], Counter, dict[str, float], float]:
    """All requests at once from a load generator in a process of its own (bench/burst.py), its connections opened
    before; the answer times, the count per status, the CPU seconds each process used in the burst (the client's
    beside the services') and the burst's wall time."""
    client = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.burst", cwd=Path(__file__).parent.parent, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    assert client.stdin is not None and client.stdout is not None
    plan = {"url": url, "method": "POST", "headers": headers, "bodies": bodies, "connections": len(bodies)}
    client.stdin.write(json.dumps(plan).encode() + b"\n")
    await client.stdin.drain()
    if (await client.stdout.readline()).strip() != b"ready":
        raise RuntimeError("the load generator did not get ready")
    cpu_before, wall_before = _cpu_seconds(pids), time.perf_counter()
    client.stdin.write(b"go\n")
    await client.stdin.drain()
    done = json.loads(await client.stdout.readline())
    cpu_after, wall = _cpu_seconds(pids), time.perf_counter() - wall_before
    await client.wait()
    used = {name: cpu_after[name] - cpu_before[name] for name in cpu_after if name in cpu_before}
    used["client"] = done["cpu_s"]
    return done["timings"], Counter(done["statuses"]), used, wall


async def _check_database(connection: asyncpg.Connection, operator: str, created: int) -> dict[str, Any]:
    """Occupancy within capacity, the stored placements per status, the waitlist's order against its times."""
    shelters = await connection.fetch("SELECT occupied, capacity FROM shelter WHERE operator = $1", operator)
    stored = dict(await connection.fetch(
        "SELECT status, count(*) FROM placement WHERE operator = $1 GROUP BY status", operator))
    waiting = await connection.fetch(
        "SELECT requested_at FROM placement WHERE operator = $1 AND status = 'waitlisted' "
        "ORDER BY programme, operator, priority, request_seq", operator)
    priorities = await connection.fetch(
        "SELECT priority, requested_at FROM placement WHERE operator = $1 AND status = 'waitlisted' "
        "ORDER BY priority, request_seq", operator)
    disagreements = sum(1 for a, b in itertools.pairwise(priorities)
                        if a["priority"] == b["priority"] and b["requested_at"] < a["requested_at"])
    return {"over_capacity": sum(1 for s in shelters if s["occupied"] > s["capacity"]),
            "stored": {str(k): v for k, v in stored.items()}, "stored_total": sum(stored.values()),
            "answered_201": created, "waitlisted": len(waiting), "order_disagreements": disagreements}


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by the gateway, shelter-placement, PostgreSQL (with its backends) and this process
    (which only waits while the load generator's process sends).
    PostgreSQL's figure counts only the backends alive at both readings: one that closed in between takes its CPU
    with it."""
    used = {}
    for name in ("gateway", "shelter-placement", "postgres"):
        try:
            process = psutil.Process(pids[name])
            processes = [process, *process.children(recursive=True)] if name == "postgres" else [process]
            used[name] = sum(sum(p.cpu_times()[:2]) for p in processes)
        except (KeyError, psutil.Error):
            continue
    used["bench"] = sum(psutil.Process().cpu_times()[:2])
    return used


class LockProfile:
    """Engine events: per transaction, the wait for the pool's lock, how long it was held (until commit) and the
    statements run while it was held."""

    def __init__(self, engine) -> None:
        self.waits: list[float] = []
        self.holds: list[float] = []
        self.statements: list[list[str]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(Session, "after_begin", self._begin)
        event.listen(Session, "after_commit", self._commit)
        event.listen(Session, "after_rollback", self._commit)

    def close(self, engine) -> None:
        event.remove(engine, "before_cursor_execute", self._before)
        event.remove(engine, "after_cursor_execute", self._after)
        event.remove(Session, "after_begin", self._begin)
        event.remove(Session, "after_commit", self._commit)
        event.remove(Session, "after_rollback", self._commit)

    def _begin(self, session, transaction, connection) -> None:
        session.info["profiled_connection"] = connection.info

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info["statement_began"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        now = time.perf_counter()
        if statement.lstrip().startswith(POOL_LOCK):
            self.waits.append(now - conn.info["statement_began"])
            conn.info["lock_taken"], conn.info["under_lock"] = now, []
        elif "lock_taken" in conn.info:
            conn.info["under_lock"].append(" ".join(statement.split())[:110])

    def _commit(self, session) -> None:
        info = session.info.pop("profiled_connection", None)
        if info is not None and "lock_taken" in info:
            self.holds.append(time.perf_counter() - info.pop("lock_taken"))
            self.statements.append(info.pop("under_lock"))


async def _profile(database_url: str, residents: list[str], operator: str) -> dict[str, Any]:
    """The same burst straight into shelter-placement's routes (in this process), with its critical section timed."""
    from shelter_placement.main import create_app
    from shelter_placement.settings import ShelterPlacementSettings

    private, public = generate_signing_key()
    app = create_app(ShelterPlacementSettings(environment="test", database_url=database_url,
                                              kafka_bootstrap_servers="127.0.0.1:9", identity_public_key=public))
    signer = IdentitySigner(private)
    ngo = identity_headers(signer, "ngo_partner", organisation=operator, audience="shelter-placement")
    profile = LockProfile(app.state.engine.sync_engine)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shelter",
                                     timeout=60) as client:
            timings, statuses = await _burst(lambda body: client.post("/placements", json=body, headers=ngo),
                                             [{"resident_id": r} for r in residents])
    finally:
        profile.close(app.state.engine.sync_engine)
        await app.state.engine.dispose()
    shapes = Counter(len(statements) for statements in profile.statements)
    examples = {}
    for statements in profile.statements:
        examples.setdefault(len(statements), statements)
    return {"service_answer": _figures(timings), "statuses": dict(statuses),
            "lock_wait": _figures(profile.waits), "lock_held": _figures(profile.holds),
            "statements_under_lock": {str(count): n for count, n in sorted(shapes.items())},
            "examples_under_lock": {str(count): statements for count, statements in sorted(examples.items())}}


async def _pool(gateway: httpx.AsyncClient, coordinator: dict, ngo: dict, operator: str, *,
                open_shelter: bool = True) -> list[str]:
    """A shelter of `CAPACITY` beds of `operator` (opened) and `REQUESTS` residents of mixed vulnerability."""
    shelter = (await gateway.post("/api/v1/shelter/shelters", headers=coordinator, json={
        "name": f"Bench {operator}", "neighbourhood": "Oost", "operator": operator, "capacity": CAPACITY})).json()
    path = f"/api/v1/shelter/shelters/{shelter['shelter_id']}"
    (await gateway.post(f"{path}/consultation", headers=coordinator,
                        json={"held_on": "2025-01-10", "reference": "minutes"})).raise_for_status()
    (await gateway.post(f"{path}/status", headers=coordinator, json={"status": "open"})).raise_for_status()
    rng = random.Random(17)
    bodies = [{"pseudonym": f"P-{n:04d}", "programme": "lvv", "operator": operator, "year_of_birth": 1980 + n % 30,
               "vulnerability": rng.choice(VULNERABILITIES)} for n in range(REQUESTS)]
    residents = []
    for start in range(0, REQUESTS, SET_UP_AT_ONCE):  # a few at a time: set-up is not what is measured

        async def register(body: dict[str, Any]) -> str:
            answer = await gateway.post("/api/v1/shelter/residents",
                                        headers=ngo if operator == "HVO-Querido" else coordinator, json=body)
            answer.raise_for_status()
            return answer.json()["resident_id"]

        residents += await asyncio.gather(*(register(body) for body in bodies[start:start + SET_UP_AT_ONCE]))
    return residents


async def _run(options: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"name": NAME, "requests": REQUESTS, "capacity": CAPACITY,
                              "gateway_deadline_s": float(GATEWAY_DEADLINE_S), "cores": os.cpu_count(),
                              "target_p99_s": TARGET_P99_S}
    with tempfile.TemporaryDirectory(prefix="verbinding-bench-") as folder:
        async with running_stack(Path(folder) / "data", ports=stack_ports(),
                                 settings={"downstream_timeout_s": GATEWAY_DEADLINE_S}) as stack, \
                httpx.AsyncClient(base_url=stack.url("gateway"), timeout=30, trust_env=False,
                                  limits=httpx.Limits(max_connections=REQUESTS + 10)) as gateway:
            coordinator = await token(gateway, grant_type="password", username="pc-pieter", password="demo")
            ngo = await token(gateway, grant_type="client_credentials", client_id="ngo-hvo-querido",
                              client_secret="hvo-demo-secret")
            residents = await _pool(gateway, coordinator, ngo, "HVO-Querido")
            profiled = await _pool(gateway, coordinator, ngo, "Bench-Profile")
            # Warm every pool on the way (client -> gateway -> shelter-placement -> PostgreSQL) as a running stack's
            # are: as many reads at once as the burst sends writes, twice.
            for _ in range(2):
                await asyncio.gather(*(gateway.get("/api/v1/shelter/shelters", headers=ngo) for _ in range(REQUESTS)))
            await asyncio.sleep(2.0)  # let set-up's events drain before the burst
            result["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
            timings, statuses, used, wall = await _burst_elsewhere(
                stack.url("gateway") + "/api/v1/shelter/placements", ngo, [{"resident_id": r} for r in residents],
                stack.pids())
            result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
            result["burst_wall_s"] = round(wall, 3)
            result["burst_cpu_s"] = {name: round(seconds, 3) for name, seconds in used.items()}
            result["through_gateway"] = {**_figures(timings), "statuses": dict(statuses)}
            database_url = (f"postgresql+asyncpg://postgres@127.0.0.1:{stack.ports.postgres}/shelter_placement")
            await asyncio.sleep(2.0)  # a request the gateway gave up on may still be running in the service
            connection = await asyncpg.connect(host="127.0.0.1", port=stack.ports.postgres, user="postgres",
                                               database="shelter_placement")
            try:
                result["checks"] = await _check_database(
                    connection, "HVO-Querido", created=statuses.get("201", 0))
                result["in_process_profile"] = await _profile(database_url, profiled, "Bench-Profile")
                result["profile_checks"] = await _check_database(
                    connection, "Bench-Profile", created=result["in_process_profile"]["statuses"].get("201", 0))
            finally:
                await connection.close()
    checks, gateway_figures = result["checks"], result["through_gateway"]
    result["ok"] = (checks["over_capacity"] == 0 and checks["order_disagreements"] == 0
                    and result["profile_checks"]["over_capacity"] == 0)
    profile = result["in_process_profile"]
    print(f"[{NAME}] {REQUESTS} concurrent placement requests into one {CAPACITY}-bed pool, through the gateway "
          f"(deadline {GATEWAY_DEADLINE_S} s), {os.cpu_count()} cores:")
    print(f"[{NAME}]   answer p50 {gateway_figures['p50_s']:.3f} s   p99 {gateway_figures['p99_s']:.3f} s   "
          f"max {gateway_figures['max_s']:.3f} s   (target p99 <= {TARGET_P99_S:g} s)")
    print(f"[{NAME}]   statuses {dict(sorted(statuses.items()))}; load average before "
          f"{result['load_average_before']} after {result['load_average_after']}")
    print(f"[{NAME}]   CPU seconds in the burst's {result['burst_wall_s']:.2f} s (ms per request): "
          + ", ".join(f"{name} {seconds:.2f} ({seconds * 1000 / REQUESTS:.1f})"
                      for name, seconds in result["burst_cpu_s"].items()))
    print(f"[{NAME}]   stored {checks['stored']} ({checks['stored_total']} rows for {checks['answered_201']} "
          f"answered 201); shelters over capacity {checks['over_capacity']}; waitlist order against displayed "
          f"time: {checks['order_disagreements']} disagreements")
    print(f"[{NAME}]   in-process profile (same burst, service only): answer p50 "
          f"{profile['service_answer']['p50_s']:.3f} s p99 {profile['service_answer']['p99_s']:.3f} s; pool lock "
          f"wait p50 {profile['lock_wait']['p50_s'] * 1000:.1f} ms p99 {profile['lock_wait']['p99_s'] * 1000:.1f} "
          f"ms; held p50 {profile['lock_held']['p50_s'] * 1000:.1f} ms p99 "
          f"{profile['lock_held']['p99_s'] * 1000:.1f} ms")
    for count, statements in profile["examples_under_lock"].items():
        print(f"[{NAME}]   {profile['statements_under_lock'][count]} transactions ran {count} statements under "
              f"the lock, e.g.:")
        for statement in statements:
            print(f"[{NAME}]       {statement}")
    return result


def run(options: argparse.Namespace) -> dict[str, Any]:
    return asyncio.run(_run(options))
