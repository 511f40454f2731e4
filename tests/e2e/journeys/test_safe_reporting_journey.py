"""Free in, Free out, end to end: anonymous reports through the real stack leave no trace of who sent them.

The whole stack runs as its own processes (gateway, every service, embedded PostgreSQL and broker). 100 reports
arrive with forged X-Forwarded-For addresses and distinct user agents; then every table of every service's
database, every log file, the trace file and every Kafka record are searched for those values, for the receipts
and for the reports' texts.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from e2e_support import token

from verbinding_testing.fixtures import eventually
from verbinding_testing.stack import RunningStack
from verbinding_testing.topics import produced_since

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
# Letters only: a run of digits in a report could look like a V-number or a BSN and be refused.
MARK = uuid.uuid4().hex[:12].translate(str.maketrans("0123456789", "ghijklmnop"))
REPORTS = 100


def sender(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"198.51.100.{n + 1}, 2001:db8::{n + 1:x}", "X-Real-IP": f"203.0.113.{n + 1}",
            "User-Agent": f"SentinelBrowser/{MARK}-{n}", "Forwarded": f"for=192.0.2.{n + 1}"}


def report(n: int) -> dict[str, object]:
    return {"role": "witness" if n % 3 else "victim", "category": "labour_exploitation", "district": "zuidoost",
            "occurred_on": "2026-11-28", "description": f"Sentinel-{MARK}-{n}: workers locked in at night",
            "answer_language": "nl", "contact": f"sentinel-{MARK}-{n}@example.org" if n % 2 else None}


async def test_a_hundred_anonymous_reports_leave_no_network_identifier_or_content_anywhere(
        stack: RunningStack, gateway: httpx.AsyncClient) -> None:
    receipts = []
    for n in range(REPORTS):
        answer = await gateway.post("/api/v1/safe-reporting/reports", json=report(n), headers=sender(n))
        assert answer.status_code == 201, answer.text
        receipts.append(answer.json()["receipt"])
        followed = await gateway.post("/api/v1/safe-reporting/reports/follow-up",
                                      json={"receipt": answer.json()["receipt"]},
                                      headers=sender(n))
        assert followed.status_code == 200 and followed.json()["state"] == "new"
    assert len(set(receipts)) == REPORTS

    hub = await token(gateway, grant_type="password", username="hc-hana", password="demo")
    listed = (await gateway.get("/api/v1/safe-reporting/reports", params={"limit": 500}, headers=hub)).json()
    assert len(listed) == REPORTS
    opened = await gateway.get(f"/api/v1/safe-reporting/reports/{listed[0]['id']}", headers=hub)
    assert opened.status_code == 200 and opened.json()["description"].startswith(f"Sentinel-{MARK}")

    lead = await token(gateway, grant_type="password", username="tl-carla", password="demo")
    await _close_the_week(stack)  # figures exist only for closed weeks: as if this week's reports were last week's

    async def published_week() -> dict | None:
        weeks = (await gateway.get("/api/v1/safe-reporting/statistics", params={"weeks": 1}, headers=lead)).json()
        return weeks[-1] if weeks and weeks[-1]["total"] == REPORTS else None

    week = await eventually(published_week, timeout=30, what="the week's statistics")
    cells = {(c["category"], c["district"]): c["reports"] for c in week["cells"]}
    assert cells[("labour_exploitation", "zuidoost")] == REPORTS
    # Read Kafka once the relay has sent the closed week's event (the topic exists only from then on).
    await eventually(lambda: _statistics_relayed(stack), timeout=60, what="the statistics event relayed")
    records = await eventually(lambda: _statistics_records(stack), timeout=30, what="a statistics event on Kafka")
    assert records

    sentinels = {value for n in range(REPORTS) for key, value in sender(n).items()}
    sentinels |= {address.strip() for n in range(REPORTS) for address in sender(n)["X-Forwarded-For"].split(",")}
    sentinels |= {f"198.51.100.{n + 1}" for n in range(REPORTS)} | {f"203.0.113.{n + 1}" for n in range(REPORTS)}
    sentinels |= {f"192.0.2.{n + 1}" for n in range(REPORTS)} | {f"SentinelBrowser/{MARK}", MARK}
    sentinels |= set(receipts) | {r.replace("-", "") for r in receipts}
    await asyncio.sleep(1.5)  # let every service's batch span processor write the trace file

    found = {}
    kafka = [(f"kafka:{topic}", text) for topic, text in await produced_since(stack, {})]
    for where, text in [*_files(stack.data_dir), *await _databases(stack), *kafka]:
        hits = sorted(s for s in sentinels if s in text)
        if hits:
            found[where] = hits[:3]
    assert found == {}


@pytest.mark.parametrize("user", ["cm-anna", "ops-dave", "tl-carla"])
async def test_no_one_but_a_hub_counsellor_reaches_the_reports(gateway: httpx.AsyncClient, user: str) -> None:
    headers = await token(gateway, grant_type="password", username=user, password="demo")
    for method, path in [("GET", "/api/v1/safe-reporting/reports"),
                         ("GET", f"/api/v1/safe-reporting/reports/{uuid.uuid4()}"),
                         ("POST", f"/api/v1/safe-reporting/reports/{uuid.uuid4()}/referrals")]:
        assert (await gateway.request(method, path, headers=headers, json={"kind": "police"})).status_code == 403


async def test_an_ngo_system_cannot_reach_the_reports(gateway: httpx.AsyncClient) -> None:
    headers = await token(gateway, grant_type="client_credentials", client_id="ngo-hvo-querido",
                           client_secret="hvo-demo-secret")
    assert (await gateway.get("/api/v1/safe-reporting/reports", headers=headers)).status_code == 403
    assert (await gateway.get("/api/v1/safe-reporting/statistics", headers=headers)).status_code == 403


async def _statistics_relayed(stack: RunningStack) -> bool:
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/safe_reporting")
    try:
        return bool(await connection.fetchval("SELECT count(*) FROM outbox WHERE topic = "
                                              "'safe-reporting.statistics.v1' AND published_at IS NOT NULL"))
    finally:
        await connection.close()


async def _close_the_week(stack: RunningStack) -> None:
    last_week = (datetime.now(UTC) - timedelta(weeks=1)).date().isocalendar()
    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/safe_reporting")
    try:
        await connection.execute("UPDATE report_tally SET iso_week = $1",
                                 f"{last_week.year}-W{last_week.week:02d}")
    finally:
        await connection.close()


def _files(data_dir: Path) -> list[tuple[str, str]]:
    return [(str(path.relative_to(data_dir)), path.read_text(errors="replace"))
            for path in sorted(data_dir.rglob("*")) if path.is_file() and path.suffix in (".log", ".jsonl")]


async def _databases(stack: RunningStack) -> list[tuple[str, str]]:
    server = f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}"
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        names = [row[0] for row in await admin.fetch(
            "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'")]
    finally:
        await admin.close()
    dumps = []
    for name in names:
        connection = await asyncpg.connect(f"{server}/{name}")
        try:
            columns = await connection.fetch("SELECT table_name, column_name FROM information_schema.columns "
                                             "WHERE table_schema = 'public'")
            for table, column in columns:
                values = await connection.fetch(f'SELECT "{column}"::text AS v FROM "{table}"')
                dumps.append((f"{name}.{table}.{column}", "\n".join(str(v["v"]) for v in values)))
        finally:
            await connection.close()
    return dumps


async def _statistics_records(stack: RunningStack) -> list:
    return [text for topic, text in await produced_since(stack, {}) if topic == "safe-reporting.statistics.v1"]
