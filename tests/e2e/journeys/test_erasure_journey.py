"""A person's data through its whole life, end to end on the shared stack: recognised (beside another person, who
stays), interviewed, a case and an action plan, a job seeker placed in work; an access request gathers every
service's records of them and nobody else's; a correction reaches every copy; once their case closes their retention
(0 days on this stack) runs out and intake erases them everywhere, and the gateway's own retentions (receipts,
published outbox rows) are run with the clock past them. Then the sentinel scan: no table of any service's database,
no record produced on any topic since the erasure, no log of the stack's processes and no trace holds any of their
values; replaying the erasure changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from e2e_support import token
from gateway.coa.service import purge_receipts

from verbinding_common.contracts.intake import PRIVACY_TOPIC, PersonErased
from verbinding_common.db import create_engine, create_sessionmaker
from verbinding_common.events import Envelope
from verbinding_common.relay import Relay
from verbinding_testing.fixtures import eventually, test_settings
from verbinding_testing.stack import RunningStack
from verbinding_testing.topics import produced_since, topic_ends

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

FAMILY, GIVEN, BORN, NUMBER = "Xqerasurefam", "Yqerasuregiven", "1922-02-22", "V-ERASE-0001"
PLAN, CLOSING = "Xqerasureplan language course", "Xqerasureclose moved away"
VALUES = (FAMILY, GIVEN, BORN, NUMBER, PLAN, CLOSING)
# Someone else, recognised in the same push: never in the export, and not erased (their support has not ended).
OTHER_FAMILY, OTHER_NUMBER = "Xqkeptfam", "V-ERASE-0002"
# Where the person's id may stay after their erasure, by design: the tombstone that keeps it erased, the access
# audit (its own retention), the ledger of processed events and the erasure's own announcement.
KEEPS_THE_ID = {"erased_person", "access_audit", "processed_event", "outbox"}


async def databases(stack: RunningStack) -> list[str]:
    """Every service's database on the stack's PostgreSQL."""
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/postgres")
    try:
        return [row["datname"] for row in await conn.fetch(
            "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY 1")]
    finally:
        await conn.close()


async def rows_of(stack: RunningStack, database: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/{database}")
    try:
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
        return {table: [r["row"] for r in await conn.fetch(f'SELECT row_to_json(t)::text AS row FROM "{table}" t')]
                for table in tables}
    finally:
        await conn.close()


async def run_the_gateways_retentions_past_their_time(stack: RunningStack) -> None:
    """The gateway holds the COA's recognition by its own clocks (a receipt 30 days, a published outbox row 24 h), not
    by intake's erasure: run both purges as if that time had passed (a retention of zero), nothing waits."""
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{stack.ports.postgres}/gateway"
    engine = create_engine(url)
    try:
        settings = test_settings(database_url=url, bootstrap_servers="127.0.0.1:9", outbox_retention_hours=0)
        await Relay(engine=engine, settings=settings, name="erasure-purge").purge_published()
        async with create_sessionmaker(engine)() as session, session.begin():
            await purge_receipts(session=session, retention=timedelta(0))
    finally:
        await engine.dispose()


def files_holding(stack: RunningStack, values: tuple[str, ...]) -> dict[str, list[str]]:
    """The stack's log files (every process's, rotated ones too) and trace files that hold any of `values`."""
    paths = [*sorted(stack.data_dir.rglob("*.log*")), *sorted(stack.data_dir.glob("traces.jsonl*"))]
    assert any(path.name.startswith("traces") for path in paths), f"no trace file among {paths}"
    found = {}
    for path in paths:
        text = Path(path).read_text(errors="replace").lower()
        if held := [value for value in values if value.lower() in text]:
            found[str(path.relative_to(stack.data_dir))] = held
    return found


async def test_a_persons_data_is_exported_corrected_and_erased_everywhere(
        stack: RunningStack, gateway: httpx.AsyncClient) -> None:
    as_ = {name: await token(gateway, grant_type="password", username=name, password="demo")
           for name in ("cm-bram", "jh-eva", "tl-carla")}
    coa = await token(gateway, grant_type="client_credentials", client_id="coa", client_secret="coa-demo-secret")
    added = await gateway.post("/api/v1/case-plan/case-managers", headers=as_["tl-carla"],
                               json={"subject": "cm-bram", "name": "Bram", "languages": ["ti"]})
    assert added.status_code in (201, 409), added.text
    recognised = {"recognised_on": "2025-03-03", "gender": "male", "country_of_origin": "ER", "languages": ["ti"],
                  "reception_centre": "AZC Amsterdam"}
    pushed = await gateway.post("/api/v1/coa/status-recognitions", headers=coa, json={"recognitions": [
        {**recognised, "coa_registration_number": NUMBER, "family_name": FAMILY, "given_names": GIVEN,
         "date_of_birth": BORN},
        {**recognised, "coa_registration_number": OTHER_NUMBER, "family_name": OTHER_FAMILY,
         "given_names": "Kept", "date_of_birth": "1990-09-09"}]})
    assert pushed.status_code == 202, pushed.text

    async def assigned() -> dict | None:
        status = (await gateway.get(f"/api/v1/coa/status-recognitions/{NUMBER}", headers=coa)).json()
        return status if status.get("status") == "case_manager_assigned" else None

    status = await eventually(assigned, timeout=90, what="the case to be assigned", interval=0.5)
    person, case_id, bram = status["person_id"], status["case"]["case_id"], as_["cm-bram"]

    async def interviewed() -> bool:
        return (await gateway.put(f"/api/v1/intake/persons/{person}/interview", headers=bram, json={
            "education_level": 4, "years_of_work_experience": 3, "dutch_level": "A2",
            "domains_of_need": ["work", "language"]})).status_code == 200

    await eventually(interviewed, timeout=60, what="the holder to record the interview", interval=0.5)
    planned = await gateway.post(f"/api/v1/case-plan/cases/{case_id}/action-plan", headers=bram, json={
        "objectives": [{"domain": "language", "term": "short_term", "description": PLAN,
                        "target_date": "2026-06-01"}]})
    assert planned.status_code == 201, planned.text

    async def job_seeker() -> bool:
        seekers = (await gateway.get("/api/v1/employment/job-seekers", headers=as_["tl-carla"])).json()
        return any(seeker["person_id"] == person and seeker["case_open"] for seeker in seekers)

    await eventually(job_seeker, timeout=60, what="employment to learn the job seeker", interval=0.5)
    hunter = await gateway.post("/api/v1/employment/job-hunters", headers=as_["tl-carla"],
                                json={"subject": "jh-eva", "name": "Eva"})
    assert hunter.status_code in (201, 409), hunter.text
    given = await gateway.put(f"/api/v1/employment/job-seekers/{person}/job-hunter", headers=as_["tl-carla"], json={})
    assert given.status_code == 200, given.text
    employer = (await gateway.post("/api/v1/employment/employers", headers=as_["jh-eva"],
                                   json={"name": "Erasure Bakery", "sector": "hospitality_food"})).json()
    placed = await gateway.post(f"/api/v1/employment/job-seekers/{person}/placements", headers=as_["jh-eva"], json={
        "employer_id": employer["employer_id"], "contract_type": "permanent", "hours_per_week": 24,
        "sector": "hospitality_food", "started_on": "2025-09-01"})
    assert placed.status_code == 201, placed.text

    # Access: every service's records of the person, each field explained, nobody else's.
    opened = await gateway.post(f"/api/v1/intake/persons/{person}/access-requests", headers=as_["tl-carla"])
    assert opened.status_code == 201, opened.text
    export_url = f"/api/v1/intake{opened.json()['export_path']}"

    async def complete() -> dict | None:
        export = (await gateway.get(export_url, headers=as_["tl-carla"])).json()
        return export if export.get("complete") else None

    export = await eventually(complete, timeout=60, what="every service to answer the access request", interval=0.5)
    assert {source["service"] for source in export["sources"]} == {"intake", "case-plan", "employment"}
    tables = {(record["service"], record["table"]) for record in export["records"]}
    assert {("intake", "person"), ("intake", "interview"), ("case-plan", "case"), ("case-plan", "objective"),
            ("employment", "job_seeker"), ("employment", "placement")} <= tables
    assert all(field["purpose"] for record in export["records"] for row in record["rows"] for field in row.values())
    ids = {field["value"] for record in export["records"] for row in record["rows"]
           for name, field in row.items() if name == "person_id"}
    assert ids == {person}
    assert FAMILY in str(export) and PLAN in str(export)
    assert OTHER_FAMILY not in str(export) and OTHER_NUMBER not in str(export)
    assert (await gateway.get(export_url, headers=as_["cm-bram"])).status_code == 403

    # Correction: the languages reach case-plan's and employment's copies.
    corrected = await gateway.post(f"/api/v1/intake/persons/{person}/corrections", headers=bram,
                                   json={"languages": ["ti", "am"], "reason": "Amharic was left out at the AZC"})
    assert corrected.status_code == 201, corrected.text

    async def copies_corrected() -> bool:
        seekers = (await gateway.get("/api/v1/employment/job-seekers", headers=as_["tl-carla"])).json()
        in_employment = [s["languages"] for s in seekers if s["person_id"] == person] == [["ti", "am"]]
        in_case_plan = any('"languages":["ti","am"]' in row and person in row
                           for row in (await rows_of(stack, "case_plan"))["case"])
        return in_employment and in_case_plan

    await eventually(copies_corrected, timeout=60, what="the correction to reach every copy", interval=0.5)

    # The case closes; with this stack's retention (0 days) intake erases the person, and so does everyone else.
    closed = await gateway.post(f"/api/v1/case-plan/cases/{case_id}/close", headers=bram, json={"reason": CLOSING})
    assert closed.status_code == 200, closed.text

    async def leftovers() -> list[str]:
        found = []
        for database in await databases(stack):
            for table, rows in (await rows_of(stack, database)).items():
                found += [f"{database}.{table}" for row in rows
                          if any(value in row for value in VALUES)
                          or (table not in KEEPS_THE_ID and (person in row or case_id in row))]
        return found

    async def erased_where_it_was_copied() -> bool:
        return not [place for place in await leftovers() if not place.startswith("gateway.")]

    await eventually(erased_where_it_was_copied, timeout=90, what="the person to be erased everywhere",
                     interval=1.0)
    since_the_erasure = await topic_ends(stack)
    # What is left is the gateway's, kept by its own retentions: the COA's receipt and the published recognition.
    assert {place.split(".")[0] for place in await leftovers()} <= {"gateway"}
    await run_the_gateways_retentions_past_their_time(stack)
    assert await leftovers() == []
    # The erasure is the person's, not everyone's: the other person recognised with them is still there.
    assert any(OTHER_FAMILY in row for row in (await rows_of(stack, "intake"))["person"])

    # Replaying the erasure changes nothing: the same event again, then a marker behind it on the same key.
    before = {database: await rows_of(stack, database) for database in ("case_plan", "employment")}
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/intake")
    try:
        envelope = await conn.fetchval("SELECT envelope::text FROM outbox WHERE event_type = $1 AND key = $2",
                                       PersonErased.event_type, person)
    finally:
        await conn.close()
    marker = Envelope(id=str(uuid.uuid4()), source="erasure-journey", type=PersonErased.event_type,
                      data={"person_id": person}, time=Envelope.model_validate_json(envelope).time)
    producer = AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{stack.ports.broker}")
    await producer.start()
    try:
        for value in (envelope.encode(), marker.to_bytes()):
            await producer.send_and_wait(PRIVACY_TOPIC, value=value, key=person.encode())
    finally:
        await producer.stop()

    async def marker_applied() -> bool:
        for database in ("case_plan", "employment"):
            if not any(marker.id in row for row in (await rows_of(stack, database))["processed_event"]):
                return False
        return True

    await eventually(marker_applied, timeout=60, what="the replay and the marker to be consumed", interval=0.5)
    after = {database: await rows_of(stack, database) for database in ("case_plan", "employment")}
    for database in after:
        for table in after[database]:
            if table != "processed_event":
                assert sorted(after[database][table]) == sorted(before[database][table]), f"{database}.{table}"
    assert await leftovers() == []

    # Nothing produced on any topic since the erasure holds their values; only the erasure's own topic (the replay
    # above) names their id.
    produced = await produced_since(stack, since_the_erasure)
    assert any(marker.id in text for _, text in produced), "the scan reads what was produced after the erasure"
    assert [topic for topic, text in produced if any(value in text for value in VALUES)
            or (topic != PRIVACY_TOPIC and (person in text or case_id in text))] == []
    # Nor does any log of the stack's processes, its console, or the trace file.
    assert files_holding(stack, VALUES) == {}
    assert [value for value in VALUES if value.lower() in stack.output.lower()] == []
