"""No personal data or network identifier leaves where it belongs: a journey with recognisable names, birth dates,
COA numbers, forged proxy headers, a rejected recognition and a dead letter, then every log file, the trace file,
every dead letter's headers and every outbox row after the purge are searched for them."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.db import create_engine
from verbinding_common.events import build_envelope
from verbinding_common.kafka import dlq_topic
from verbinding_common.relay import Relay
from verbinding_testing.fixtures import eventually, test_settings
from verbinding_testing.stack import RunningStack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FAMILY, GIVEN, BORN = "Zqxsentinelfam", "Vwysentinelgiven", "1911-11-11"
FORGED_ADDRESS, USER_AGENT = "198.51.100.23", "SentinelAgent/9.9"
SENTINELS = (FAMILY, GIVEN, BORN, "V-SNTL", FORGED_ADDRESS, USER_AGENT)
# An address with a port: a server's own listening address is fine, any other is a client's.
ADDRESS = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}:(\d{2,5})\b")


def recognition(number: int, **changes: object) -> dict:
    values = {"coa_registration_number": f"V-SNTL-{number:04d}", "recognised_on": "2025-02-03",
              "family_name": FAMILY, "given_names": GIVEN, "date_of_birth": BORN, "gender": "female",
              "country_of_origin": "ER", "languages": ["ti"], "reception_centre": "AZC Sentinel"}
    values.update(changes)
    return values


async def journey(stack: RunningStack) -> None:
    forged = {"X-Forwarded-For": FORGED_ADDRESS, "X-Real-IP": FORGED_ADDRESS, "User-Agent": USER_AGENT}
    async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=30, trust_env=False,
                                 headers=forged) as gateway:
        async def token(**form: str) -> dict[str, str]:
            response = await gateway.post("/oauth/token", data=form)
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}

        coa = await token(grant_type="client_credentials", client_id="coa", client_secret="coa-demo-secret")
        lead = await token(grant_type="password", username="tl-carla", password="demo")
        wrong = await gateway.post("/oauth/token", data={"grant_type": "password", "username": FAMILY,
                                                         "password": BORN})
        assert wrong.status_code == 400
        pushed = await gateway.post("/api/v1/coa/status-recognitions", headers=coa,
                                    json={"recognitions": [recognition(n) for n in range(1, 4)]})
        assert pushed.status_code == 202, pushed.text
        refused = await gateway.post("/api/v1/coa/status-recognitions", headers=coa,
                                     json=recognition(4, family_name=f"{FAMILY}\u0000"))
        assert refused.status_code == 422 and FAMILY not in refused.text

        async def registered() -> list[dict] | None:
            statuses = [(await gateway.get(f"/api/v1/coa/status-recognitions/V-SNTL-{n:04d}", headers=coa)).json()
                        for n in range(1, 4)]
            return statuses if all(status.get("person_id") for status in statuses) else None

        statuses = await eventually(registered, timeout=60, what="the sentinel recognitions to be registered",
                                    interval=0.5)
        overview = await gateway.get(f"/api/v1/persons/{statuses[0]['person_id']}/overview", headers=lead)
        assert overview.status_code == 200 and overview.json()["person"]["family_name"] == FAMILY
        unknown = await gateway.get("/api/v1/coa/status-recognitions/V-SNTL-9999", headers=coa)
        assert unknown.status_code == 404


async def reject_and_dead_letter_straight_from_the_topic(stack: RunningStack) -> list[list[tuple[str, bytes]]]:
    """Straight onto the topic (as the COA may): a NUL in the name breaks a rule intake checks, so it is rejected by
    an event of its own; a recognition breaking its contract with no readable COA number is poison, so it is
    dead-lettered (for operators)."""
    bootstrap = f"127.0.0.1:{stack.ports.broker}"
    nul = StatusRecognised.model_construct(**{**recognition(99), "family_name": f"{FAMILY}\u0000x",
                                              "languages": ["ti"], "family_reunification_with": None})
    poison = build_envelope(StatusRecognised.model_construct(**recognition(98)), source="coa")
    # Broken, and no COA number to reject it by: poison (a readable number would make it a rejection).
    poison.data.update(recognised_on=BORN.replace("-", "/"), coa_registration_number="V-SNTL-0098 ?")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(StatusRecognised.topic, value=build_envelope(nul, source="coa").to_bytes(),
                                     key=b"V-SNTL-0099")
        await producer.send_and_wait(StatusRecognised.topic, value=poison.to_bytes(), key=b"V-SNTL-0098")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(dlq_topic(StatusRecognised.topic), bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", group_id=f"sentinel-{uuid.uuid4().hex[:6]}")
    await consumer.start()
    try:
        async def dead_letters() -> list | None:
            batches = await consumer.getmany(timeout_ms=500)
            found = [record for batch in batches.values() for record in batch]
            return found or None

        records = await eventually(dead_letters, timeout=60, what="the poison recognition's dead letter")
    finally:
        await consumer.stop()
    assert all(record.key == b"V-SNTL-0098" for record in records), "only the poison is dead-lettered"
    return [list(record.headers) for record in records]


async def the_rejection_answers_rejected_and_the_poison_nothing(stack: RunningStack) -> None:
    async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=30, trust_env=False) as gateway:
        form = {"grant_type": "client_credentials", "client_id": "coa", "client_secret": "coa-demo-secret"}
        coa = {"Authorization": f"Bearer {(await gateway.post('/oauth/token', data=form)).json()['access_token']}"}

        async def rejected() -> dict | None:
            status = (await gateway.get("/api/v1/coa/status-recognitions/V-SNTL-0099", headers=coa)).json()
            return status if status.get("status") == "rejected" else None

        status = await eventually(rejected, timeout=60, what="the rejected recognition to answer rejected")
        poison = await gateway.get("/api/v1/coa/status-recognitions/V-SNTL-0098", headers=coa)
    assert status["reason"] == "unstorable_text" and FAMILY not in str(status)
    assert poison.status_code == 404, "a dead letter changes no status"


async def outbox_rows_after_purge(stack: RunningStack) -> list[str]:
    rows: list[str] = []
    for database in ("gateway", "intake", "case_plan"):
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{stack.ports.postgres}/{database}"
        engine = create_engine(url)
        try:
            settings = test_settings(database_url=url, bootstrap_servers="127.0.0.1:9", outbox_retention_hours=0)
            await Relay(engine=engine, settings=settings, name="sentinel-purge").purge_published()
        finally:
            await engine.dispose()
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/{database}")
        try:
            rows += [row["text"] for row in await conn.fetch("SELECT row_to_json(outbox)::text AS text FROM outbox")]
        finally:
            await conn.close()
    return rows


def leaks(text: str) -> list[str]:
    return [sentinel for sentinel in SENTINELS if sentinel.lower() in text.lower()]


def client_addresses(text: str, stack: RunningStack) -> list[str]:
    servers = {stack.ports.postgres, stack.ports.broker, *stack.ports.services.values()}
    return [match.group(0) for match in ADDRESS.finditer(text) if int(match.group(1)) not in servers][:3]


def search_files(stack: RunningStack) -> dict[str, list[str]]:
    """Every log file and trace file of the stack: what each one leaks."""
    logs = sorted(stack.data_dir.rglob("*.log"))
    traces = sorted(stack.data_dir.glob("traces.jsonl*"))
    assert logs and traces, f"nothing to search: logs={logs}, traces={traces}"
    found: dict[str, list[str]] = {}
    for path in [*logs, *traces]:
        text = Path(path).read_text(errors="replace")
        if bad := leaks(text) + client_addresses(text, stack):
            found[str(path.relative_to(stack.data_dir))] = bad
    return found


async def test_no_sentinel_or_client_address_in_logs_traces_dead_letters_or_purged_outbox(
        stack: RunningStack) -> None:
    await journey(stack)
    headers = await reject_and_dead_letter_straight_from_the_topic(stack)
    await the_rejection_answers_rejected_and_the_poison_nothing(stack)
    header_text = " ".join(f"{key}={value.decode(errors='replace')}" for record in headers for key, value in record)
    assert "dlq" in header_text, "the dead letter carries its error headers"
    rows = await outbox_rows_after_purge(stack)
    await asyncio.sleep(1.0)  # services export spans in batches
    assert await stack.stop() == 0

    found = search_files(stack)
    if bad := leaks(stack.output) + client_addresses(stack.output, stack):
        found["console"] = bad
    if bad := leaks(header_text):
        found["dead-letter headers"] = bad
    if bad := [leak for row in rows for leak in leaks(row)]:
        found["outbox after purge"] = bad
    assert found == {}, found
    access_lines = await asyncio.to_thread((stack.data_dir / "logs" / "gateway.log").read_text)
    assert "/api/v1/coa/status-recognitions/{coa_registration_number}" in access_lines, \
        "the access log names the route template"
