"""From status recognition to a case manager, end to end: the real stack (gateway, intake, case-plan as their own
processes, embedded PostgreSQL and broker), driven only through the gateway as its clients are."""

from __future__ import annotations

import json
import os
import random
import signal
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import jsonschema
import pytest
from e2e_support import token

from verbinding_common.events import Envelope
from verbinding_testing.fixtures import eventually
from verbinding_testing.stack import RunningStack, StackPorts, running_stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
CASE_MANAGERS = ("cm-anna", "cm-bram")
BASE_DAY = date(2025, 1, 6)
SCHEMAS = Path(__file__).parents[1] / "contract" / "schemas"


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    async with running_stack(tmp_path_factory.mktemp("stack") / "data", ports=StackPorts.free()) as running:
        yield running


@pytest.fixture(scope="module")
async def as_(gateway: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    users = {name: await token(gateway, grant_type="password", username=name, password="demo")
             for name in (*CASE_MANAGERS, "tl-carla")}
    users["coa"] = await token(gateway, grant_type="client_credentials", client_id="coa",
                               client_secret="coa-demo-secret")
    return users


def recognition(n: int, *, day: int, partner_of: str | None = None) -> dict:
    return {
        "coa_registration_number": f"V-E2E-{n:04d}",
        "recognised_on": (BASE_DAY + timedelta(days=day)).isoformat(),
        "family_name": f"Family{n}", "given_names": f"Person {n}", "date_of_birth": "1990-05-17",
        "gender": random.choice(["female", "male"]), "country_of_origin": "SY", "languages": ["ar", "en"],
        "reception_centre": "AZC Amsterdam Willinklaan", "family_reunification_with": partner_of,
    }


async def test_120_recognitions_give_120_persons_100_assigned_and_a_waitlist_in_recognition_order(
        gateway: httpx.AsyncClient, as_: dict[str, dict[str, str]]) -> None:
    for subject in CASE_MANAGERS:
        response = await gateway.post("/api/v1/case-plan/case-managers", headers=as_["tl-carla"],
                                      json={"subject": subject, "name": subject[3:].title(), "languages": ["ar"]})
        assert response.status_code == 201, response.text

    # 119 newcomers on distinct recognition days, pushed in a shuffled order, and one partner who arrives by
    # family reunification with person 0.
    recognitions = [recognition(n, day=n) for n in range(119)]
    random.Random(7).shuffle(recognitions)
    recognitions.append(recognition(119, day=200, partner_of="V-E2E-0000"))
    for start in range(0, 120, 40):
        response = await gateway.post("/api/v1/coa/status-recognitions", headers=as_["coa"],
                                      json={"recognitions": recognitions[start:start + 40]})
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == len(recognitions[start:start + 40])
    # At-least-once from the COA: some are sent again, one by one and in a batch.
    again = recognitions[:5]
    assert (await gateway.post("/api/v1/coa/status-recognitions", headers=as_["coa"],
                               json=again[0])).status_code == 202
    assert (await gateway.post("/api/v1/coa/status-recognitions", headers=as_["coa"],
                                json={"recognitions": again})).status_code == 202

    async def everyone_cased() -> list | None:
        waitlist = (await gateway.get("/api/v1/case-plan/waitlist", headers=as_["tl-carla"])).json()
        loads = [(await gateway.get("/api/v1/case-plan/caseload", headers=as_[cm])).json() for cm in CASE_MANAGERS]
        return (waitlist, loads) if len(waitlist) + sum(len(load["cases"]) for load in loads) >= 120 else None

    waitlist, loads = await eventually(everyone_cased, timeout=90, what="every recognition to get a case",
                                      interval=0.5)
    assert [len(load["cases"]) for load in loads] == [50, 50]
    assert [load["case_manager"]["active_cases"] for load in loads] == [50, 50]
    assert len(waitlist) == 20
    assert [entry["recognised_on"] for entry in waitlist] == sorted(entry["recognised_on"] for entry in waitlist)
    assert [entry["position"] for entry in waitlist] == list(range(1, 21))

    # The status is intake's projection of case-plan's events: a moment behind case-plan itself.
    async def every_status_cased() -> dict | None:
        statuses = {}
        for item in recognitions:
            number = item["coa_registration_number"]
            response = await gateway.get(f"/api/v1/coa/status-recognitions/{number}", headers=as_["coa"])
            assert response.status_code == 200, response.text
            statuses[number] = response.json()
        cased = all(status["status"] in ("case_manager_assigned", "waitlisted") for status in statuses.values())
        return statuses if cased else None

    statuses = await eventually(every_status_cased, timeout=60, what="every status to show its case", interval=0.5)
    assert len({status["person_id"] for status in statuses.values()}) == 120, "no person twice, none missing"
    assert {status["status"] for status in statuses.values()} == {"case_manager_assigned", "waitlisted"}
    assert all(status["case"]["case_id"] for status in statuses.values())

    partner = (await gateway.get(f"/api/v1/persons/{statuses['V-E2E-0119']['person_id']}/overview",
                                 headers=as_["tl-carla"])).json()
    first = (await gateway.get(f"/api/v1/persons/{statuses['V-E2E-0000']['person_id']}/overview",
                               headers=as_["tl-carla"])).json()
    assert partner["person"]["family_reunification"] is True
    assert partner["person"]["household_id"] == first["person"]["household_id"]
    assert partner["case"]["case_id"] != first["case"]["case_id"], "a reunited partner gets a case of their own"

    # Closing one case gives its place to the first on the waitlist.
    head = waitlist[0]
    closing = loads[0]["cases"][0]
    response = await gateway.post(f"/api/v1/case-plan/cases/{closing['case_id']}/close", headers=as_["cm-anna"],
                                  json={"reason": "moved to another municipality"})
    assert response.status_code == 200, response.text

    async def head_assigned() -> dict | None:
        case = (await gateway.get(f"/api/v1/case-plan/cases/{head['case_id']}", headers=as_["tl-carla"])).json()
        return case if case["status"] == "assigned" else None

    case = await eventually(head_assigned, timeout=30, what="the head of the waitlist to be assigned", interval=0.5)
    assert case["case_manager_id"] == loads[0]["case_manager"]["case_manager_id"]
    waitlist = (await gateway.get("/api/v1/case-plan/waitlist", headers=as_["tl-carla"])).json()
    assert len(waitlist) == 19 and head["case_id"] not in {entry["case_id"] for entry in waitlist}


def spans_of(trace_file: Path, trace_id: str) -> list[dict]:
    if not trace_file.exists():
        return []
    spans = []
    for line in trace_file.read_text().splitlines():
        try:
            span = json.loads(line)
        except ValueError:
            continue
        if span["trace_id"] == trace_id:
            spans.append(span)
    return spans


async def test_one_trace_runs_from_the_gateway_through_intake_to_case_plan(
        stack: RunningStack, gateway: httpx.AsyncClient, as_: dict[str, dict[str, str]]) -> None:
    response = await gateway.post("/api/v1/coa/status-recognitions", headers=as_["coa"],
                                  json=recognition(500, day=300))
    assert response.status_code == 202
    trace_id = response.headers["x-trace-id"]

    def case_plan_process_span(spans: list[dict]) -> dict | None:
        return next((s for s in spans if s["service"] == "case-plan" and s["name"].endswith("process")), None)

    def chain_of(spans: list[dict]) -> list[tuple[str, str]]:
        by_id = {s["span_id"]: s for s in spans}
        chain, span = [], case_plan_process_span(spans)
        while span is not None:
            chain.append((span["service"], span["name"]))
            span = by_id.get(span["parent_span_id"])
        return chain

    async def traced() -> list[tuple[str, str]] | None:
        # Each service exports in batches: wait until every hop back to the gateway's request is in the file.
        chain = chain_of(spans_of(stack.data_dir / "traces.jsonl", trace_id))
        return chain if chain and chain[-1][0] == "gateway" else None

    chain = await eventually(traced, timeout=60, what="the whole chain from case-plan back to the gateway",
                             interval=0.5)
    services = [service for service, _ in chain]
    assert services[0] == "case-plan" and "intake" in services and services[-1] == "gateway", chain
    assert chain[-1][1] == "POST /api/v1/coa/status-recognitions"
    assert any(name == "intake.persons.v1 publish" for _, name in chain)
    assert any(name == "coa.status-recognitions.v1 process" for _, name in chain)


async def test_every_event_the_services_produced_matches_its_committed_schema(stack: RunningStack) -> None:
    checked: dict[str, int] = {}
    for database in ("intake", "case_plan"):
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/{database}")
        try:
            rows = await conn.fetch("SELECT envelope::text AS envelope FROM outbox")
        finally:
            await conn.close()
        for row in rows:
            envelope = Envelope.model_validate_json(row["envelope"])
            schema = json.loads((SCHEMAS / f"{envelope.type}.json").read_text())
            errors = [error.message for error in jsonschema.Draft202012Validator(schema).iter_errors(envelope.data)]
            assert errors == [], (envelope.type, errors)
            checked[envelope.type] = checked.get(envelope.type, 0) + 1
    assert {"intake.person-registered.v1", "case-plan.case-opened.v1", "case-plan.case-manager-assigned.v1",
            "case-plan.case-waitlisted.v1", "case-plan.case-closed.v1", "case-plan.case-manager-joined.v1"
            } <= set(checked), checked


async def test_person_overview_with_case_plan_frozen_still_returns_intakes_section(
        stack: RunningStack, gateway: httpx.AsyncClient, as_: dict[str, dict[str, str]]) -> None:
    status = (await gateway.get("/api/v1/coa/status-recognitions/V-E2E-0001", headers=as_["coa"])).json()
    # Frozen, not stopped: the stack would start a stopped case-plan again. Its port still takes connections, so the
    # overview meets the gateway's timeout rather than a refused connection.
    case_plan = stack.pids()["case-plan"]
    os.kill(case_plan, signal.SIGSTOP)
    try:
        # Carla leads the team of both case managers: she reaches the person whichever of them holds the case.
        response = await gateway.get(f"/api/v1/persons/{status['person_id']}/overview", headers=as_["tl-carla"])
    finally:
        os.kill(case_plan, signal.SIGCONT)
    assert response.status_code == 200, response.text
    overview = response.json()
    assert overview["person"]["coa_registration_number"] == "V-E2E-0001"
    assert overview["case"]["unavailable"] is True
