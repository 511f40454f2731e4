"""The safe-reporting benchmark: 200 concurrent anonymous reporters submitting and following up, on loopback.

It starts the whole `verbinding run` stack on free ports in a temporary data dir and, through the gateway only,
lets `REPORTERS` reporters (paced: 20 per second; burst: all at once) each submit a report, with an Idempotency-Key
and sending again after 503/409 as the reporter's app does (`POST /api/v1/safe-reporting/reports`) and then read it back
with their receipt (`POST /api/v1/safe-reporting/reports/follow-up`). It reports reports/s, p50/p99 of both, the CPU
the gateway, safe-reporting and PostgreSQL spent per report, and the cost of one receipt hash (scrypt) on this
machine, which every submission and every look-up pays once.
Correctness: every report gets a distinct receipt that finds it, and after the burst as many reports are stored as
distinct receipts were delivered (none stored without its receipt, none twice).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from verbinding_testing.stack import StackPorts, running_stack

from .backbone import machine_facts, percentile

NAME = "safe_reporting"
REPORTERS = 200
PACED_OVER_S = 10.0  # 200 reporters arriving over 10 s: 20 reports/s sustained, each followed up a second later
TARGET_P99_MS = 500


def _report(n: int) -> dict[str, Any]:
    return {"role": "witness", "category": "violence", "district": "centrum", "occurred_on": "2026-11-28",
            "description": f"Benchmark report {n}: a fight outside the shelter", "answer_language": "nl"}


def _scrypt_ms() -> float:
    from safe_reporting.reports import receipts  # the parameters the service uses

    started = time.perf_counter()
    for _ in range(5):
        hashlib.scrypt(b"0" * 20, salt=b"s" * 16, n=receipts.SCRYPT_N, r=receipts.SCRYPT_R, p=receipts.SCRYPT_P,
                       maxmem=64 * 1024 * 1024, dklen=32)
    return (time.perf_counter() - started) / 5 * 1000


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            for p in [process, *process.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


async def _phase(gateway: httpx.AsyncClient, reporters: int, spread_s: float, think_s: float) -> dict[str, Any]:
    """`reporters` reporters arriving evenly over `spread_s` (0: all at once); each submits, waits `think_s`, and
    follows the report up with its receipt."""
    submit_ms: list[float] = []
    lookup_ms: list[float] = []
    receipts: list[str] = []
    failures: list[str] = []

    retries: list[str] = []

    async def reporter(n: int) -> None:
        await asyncio.sleep(spread_s * n / reporters)
        key = f"bench-{uuid.uuid4()}"
        started = time.perf_counter()
        # As the reporter's app does: one Idempotency-Key per report, sent again after a 503 or 409 (Retry-After).
        for _ in range(60):
            answer = await gateway.post("/api/v1/safe-reporting/reports", json=_report(n),
                                        headers={"Idempotency-Key": key})
            if answer.status_code not in (503, 409):
                break
            retries.append(f"{answer.status_code}{'' if 'retry-after' in answer.headers else ' without Retry-After'}")
            await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
        submit_ms.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 201:
            failures.append(f"submit {answer.status_code}")
            return
        receipt = answer.json()["receipt"]
        receipts.append(receipt)
        await asyncio.sleep(think_s)
        started = time.perf_counter()
        followed = await gateway.post("/api/v1/safe-reporting/reports/follow-up", json={"receipt": receipt})
        lookup_ms.append((time.perf_counter() - started) * 1000)
        if followed.status_code != 200:
            failures.append(f"follow-up {followed.status_code}")

    started = time.perf_counter()
    await asyncio.gather(*(reporter(n) for n in range(reporters)))
    elapsed = time.perf_counter() - started
    return {
        "reporters": reporters, "arrivals_over_s": spread_s, "elapsed_s": round(elapsed, 2),
        "reports_per_s": round(reporters / elapsed, 1),
        "submit_p50_ms": round(percentile(submit_ms, 0.5), 1), "submit_p99_ms": round(percentile(submit_ms, 0.99), 1),
        "lookup_p50_ms": round(percentile(lookup_ms, 0.5), 1), "lookup_p99_ms": round(percentile(lookup_ms, 0.99), 1),
        "failures": len(failures), "failure_kinds": sorted(set(failures)),
        "sent_again": len(retries), "sent_again_after": sorted(set(retries)),
        "distinct_receipts": len(set(receipts)), "ok": not failures and len(set(receipts)) == reporters,
    }


async def _run(reporters: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-safe-") as tmp:
        settings = {"report_submissions_per_hour": "1000000", "receipt_failures_per_window": "1000000",
                    "downstream_timeout_s": "60"}
        async with running_stack(Path(tmp) / "data", ports=StackPorts.free(), settings=settings) as stack:
            pids = stack.pids()
            watched = [pids["gateway"], pids["safe-reporting"], pids["postgres"]]
            limits = httpx.Limits(max_connections=reporters, max_keepalive_connections=reporters)
            async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=120, limits=limits,
                                         trust_env=False) as gateway:
                for n in range(5):  # warm up: connections, pools, first scrypt
                    answer = await gateway.post("/api/v1/safe-reporting/reports", json=_report(-n))
                    assert answer.status_code == 201, answer.text
                cpu_before = _cpu_seconds(watched)
                paced = await _phase(gateway, reporters, spread_s=PACED_OVER_S, think_s=1.0)
                cpu = _cpu_seconds(watched) - cpu_before
                before = await _stored(stack)
                burst = await _phase(gateway, reporters, spread_s=0.0, think_s=0.0)
                burst["stored"] = await _stored(stack) - before
                # Every stored report's receipt delivered, none twice: as many stored as distinct receipts received.
                burst["stored_without_delivered_receipt"] = burst["stored"] - burst["distinct_receipts"]
    return {"paced": paced, "burst": burst, "cpu_ms_per_report_and_lookup": round(cpu / reporters * 1000, 1),
            "ok": paced["ok"] and burst["ok"] and burst["stored_without_delivered_receipt"] == 0}


async def _stored(stack: Any) -> int:
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/safe_reporting")
    try:
        return await connection.fetchval("SELECT count(*) FROM report")
    finally:
        await connection.close()


def run(options: argparse.Namespace) -> dict[str, Any]:
    reporters = options.events or REPORTERS
    scrypt_ms = _scrypt_ms()
    result = {"machine": machine_facts(), **asyncio.run(_run(reporters)), "scrypt_one_hash_ms": round(scrypt_ms, 1),
              "scrypt_parameters": "N=2^13, r=8, p=1 (8 MiB)", "target_p99_ms": TARGET_P99_MS}
    for phase in ("paced", "burst"):
        figures = result[phase]
        print(f"safe reporting ({phase}: {figures['reporters']} reporters arriving over {figures['arrivals_over_s']:g} "
              f"s): {figures['reports_per_s']} reports/s; submit p50/p99 {figures['submit_p50_ms']}/"
              f"{figures['submit_p99_ms']} ms, receipt look-up p50/p99 {figures['lookup_p50_ms']}/"
              f"{figures['lookup_p99_ms']} ms; failures {figures['failures']} {figures['failure_kinds']}; sent again "
              f"{figures['sent_again']} {figures['sent_again_after']}"
              + (f"; stored {figures['stored']}, stored without a delivered receipt "
                 f"{figures['stored_without_delivered_receipt']}" if "stored" in figures else ""))
    print(f"safe reporting: load average at start {result['machine']['load_average_at_start']} on "
          f"{result['machine']['cores']} cores")
    print(f"safe reporting: target p99 <= {TARGET_P99_MS} ms (paced); CPU {result['cpu_ms_per_report_and_lookup']} ms "
          f"per report + look-up (gateway, safe-reporting, PostgreSQL); one scrypt {scrypt_ms:.0f} ms "
          f"({result['scrypt_parameters']})")
    return result
