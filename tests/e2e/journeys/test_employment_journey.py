"""From status recognition to lasting work, end to end: the real stack (gateway, intake, case-plan, employment as
processes of their own, embedded PostgreSQL and broker), driven only through the gateway as its clients are."""

from __future__ import annotations

import json
import os
import signal
import uuid
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import jsonschema
import pytest
from e2e_support import token

from verbinding_common.events import Envelope
from verbinding_testing.fixtures import eventually
from verbinding_testing.stack import RunningStack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
SCHEMAS = Path(__file__).parents[2] / "contract" / "schemas"
# Recognisable values that must never reach employment.
SENTINELS = {"family_name": "Qorvandelli", "given_names": "Zyphrinette", "date_of_birth": "1987-06-05"}
COA_NUMBERS = ("V-SENTQ-0001", "V-SENTQ-0002")


async def test_a_recognised_person_becomes_a_job_seeker_finds_lasting_work_and_keeps_their_case(
        stack: RunningStack, gateway: httpx.AsyncClient) -> None:
    as_ = {name: await token(gateway, grant_type="password", username=name, password="demo")
           for name in ("cm-anna", "jh-eva", "tl-carla")}
    as_["coa"] = await token(gateway, grant_type="client_credentials", client_id="coa",
                             client_secret="coa-demo-secret")
    assert (await gateway.post("/api/v1/case-plan/case-managers", headers=as_["tl-carla"],
                               json={"subject": "cm-anna", "name": "Anna", "languages": ["ar"]})).status_code == 201
    recognitions = [{"coa_registration_number": number, "recognised_on": "2025-01-06", **SENTINELS,
                     "gender": "female", "country_of_origin": "SY", "languages": ["ar"],
                     "reception_centre": "AZC Amsterdam"} for number in COA_NUMBERS]
    response = await gateway.post("/api/v1/coa/status-recognitions", headers=as_["coa"],
                                  json={"recognitions": recognitions})
    assert response.status_code == 202, response.text

    async def persons() -> list[str] | None:
        statuses = [(await gateway.get(f"/api/v1/coa/status-recognitions/{n}", headers=as_["coa"])).json()
                    for n in COA_NUMBERS]
        return [s["person_id"] for s in statuses] if all(s.get("person_id") for s in statuses) else None

    person_ids = await eventually(persons, timeout=60, what="both persons to be registered", interval=0.5)
    person = person_ids[0]
    interview = {"education_level": 6, "profession": "2221", "years_of_work_experience": 5, "dutch_level": "B1",
                 "domains_of_need": ["work", "language"]}

    async def interviewed() -> bool:
        # Intake lets the holder in once it has heard from case-plan who holds the case.
        return (await gateway.put(f"/api/v1/intake/persons/{person}/interview", headers=as_["cm-anna"],
                                  json=interview)).status_code == 200

    await eventually(interviewed, timeout=60, what="the case's holder to record the interview", interval=0.5)

    # Employment learns them from intake's and case-plan's events alone.
    async def job_seekers() -> dict | None:
        seekers = {s["person_id"]: s for s in
                   (await gateway.get("/api/v1/employment/job-seekers", headers=as_["tl-carla"])).json()}
        seeker = seekers.get(person)
        ready = seeker and seeker["occupation"] and seeker["case_open"] and person_ids[1] in seekers
        return seekers if ready else None

    seekers = await eventually(job_seekers, timeout=60, what="employment to learn both job seekers", interval=0.5)
    assert (seekers[person]["education_level"], seekers[person]["occupation"], seekers[person]["dutch_level"]) == \
        (6, "22", "B1")

    hunter = await gateway.post("/api/v1/employment/job-hunters", headers=as_["tl-carla"], json={"subject": "jh-eva",
                                                                                     "name": "Eva"})
    assert hunter.status_code == 201, hunter.text
    assert (await gateway.put(f"/api/v1/employment/job-seekers/{person}/job-hunter", headers=as_["tl-carla"],
                              json={})).json()["job_hunter_id"] == hunter.json()["job_hunter_id"]
    eva = as_["jh-eva"]
    seekers = (await gateway.get("/api/v1/employment/job-seekers", headers=eva)).json()
    assert [s["person_id"] for s in seekers] == [person]
    other = await gateway.get(f"/api/v1/employment/job-seekers/{person_ids[1]}/matches", headers=eva)
    assert other.status_code == 404

    # Her list names each of her job seekers by their working name: her front-end asks intake for the names of the
    # page employment listed, and intake gives them to her alone, once it has heard from employment that she serves
    # them; the name never reaches employment (checked at the end).
    async def named() -> list | None:
        names = await gateway.get("/api/v1/intake/working-names", headers=eva,
                                  params={"person_id": [s["person_id"] for s in seekers]})
        return names.json() if names.status_code == 200 and names.json() else None

    names = await eventually(named, timeout=60, what="intake to learn who serves whom", interval=0.5)
    assert names == [{"person_id": person, "working_name": SENTINELS["given_names"]}], names
    theirs = await gateway.get("/api/v1/intake/working-names", headers=eva, params={"person_id": person_ids[1]})
    assert theirs.status_code == 200 and theirs.json() == []
    for_lead = await gateway.get("/api/v1/intake/working-names", headers=as_["tl-carla"], params={"person_id": person})
    assert for_lead.status_code == 403
    # (her list may have asked before intake heard of her: refused then, audited too)
    audit = await _intake_audit(stack, person_ids)
    assert {(person, "allowed"), (person_ids[1], "refused")} <= audit and (person_ids[1], "allowed") not in audit

    employer = (await gateway.post("/api/v1/employment/employers", headers=eva,
                                   json={"name": "OLVG", "sector": "care"})).json()
    vacancy = {"employer_id": employer["employer_id"], "sector": "care", "location": "Amsterdam Oost",
               "dutch_level": "B1", "hours_per_week": 32}
    today = date.today()
    quick = await gateway.post("/api/v1/employment/vacancies", headers=eva, json={
        **vacancy, "title": "care assistant, agency", "occupation": "5321", "education_level": 3,
        "contract_type": "temporary", "duration_months": 2, "starts_on": today.isoformat()})
    lasting = await gateway.post("/api/v1/employment/vacancies", headers=eva, json={
        **vacancy, "title": "nurse", "occupation": "2221", "education_level": 6, "contract_type": "permanent",
        "starts_on": (today + timedelta(days=60)).isoformat()})
    assert quick.status_code == lasting.status_code == 201, quick.text
    ranked = (await gateway.get(f"/api/v1/employment/job-seekers/{person}/matches", headers=eva)).json()
    assert [(r["vacancy"]["title"], r["score"]["total"]) for r in ranked] == [("nurse", 100),
                                                                              ("care assistant, agency", 55)]

    # A third vacancy; the list pages by cursor; the nurse's post ranks its candidates by the same formula.
    nights = await gateway.post("/api/v1/employment/vacancies", headers=eva, json={
        **vacancy, "title": "nurse, nights", "occupation": "2221", "education_level": 6, "contract_type": "fixed_term",
        "duration_months": 12, "starts_on": today.isoformat(), "district": "oost"})
    assert nights.status_code == 201, nights.text
    first = (await gateway.get("/api/v1/employment/vacancies", headers=eva, params={"limit": 2})).json()
    rest = (await gateway.get("/api/v1/employment/vacancies", headers=eva,
                              params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [v["title"] for v in first["vacancies"] + rest["vacancies"]] == ["nurse, nights", "nurse",
                                                                          "care assistant, agency"]
    assert rest["next_cursor"] is None and first["vacancies"][0]["employer_name"] == "OLVG"
    lasting_id = lasting.json()["vacancy_id"]
    candidates = (await gateway.get(f"/api/v1/employment/vacancies/{lasting_id}/candidates", headers=eva)).json()
    assert [(c["job_seeker"]["person_id"], c["score"]["total"], c["missing"]) for c in candidates] == [
        (person, 100, [])]

    # The application goes through every stage before the placement is recorded.
    application = await gateway.post(f"/api/v1/employment/job-seekers/{person}/applications", headers=eva,
                                     json={"vacancy_id": lasting_id})
    assert application.status_code == 201, application.text
    for stage in ("applied", "interview", "offer", "placed"):
        step = await gateway.post(f"/api/v1/employment/applications/{application.json()['application_id']}/steps",
                                  headers=eva, json={"stage": stage})
        assert step.status_code == 200 and step.json()["stage"] == stage, step.text

    started_on = today - timedelta(days=380)
    placed = await gateway.post(f"/api/v1/employment/job-seekers/{person}/placements", headers=eva, json={
        "employer_id": employer["employer_id"], "vacancy_id": lasting.json()["vacancy_id"],
        "contract_type": "permanent", "hours_per_week": 32, "sector": "care", "started_on": started_on.isoformat()})
    assert placed.status_code == 201, placed.text
    due = (await gateway.get("/api/v1/employment/retention-checks/due", headers=eva)).json()
    assert [(c["months"], c["overdue"]) for c in due] == [(6, True), (12, False)]
    outcome = await gateway.post(f"/api/v1/employment/retention-checks/{due[0]['retention_check_id']}/outcome",
                                 headers=eva, json={"outcome": "same_employer"})
    assert outcome.status_code == 200, outcome.text

    # case-plan hears of the placement: the case stays open and shows the person employed, coaching going on.
    async def employed_overview() -> dict | None:
        overview = (await gateway.get(f"/api/v1/persons/{person}/overview", headers=as_["cm-anna"])).json()
        employed = overview["case"]["employment"]["employed"] and (overview["employment"] or {}).get("employed")
        return overview if employed else None

    overview = await eventually(employed_overview, timeout=60, what="the case to show the placement", interval=0.5)
    assert overview["case"]["status"] == "assigned" and overview["case"]["closed_at"] is None
    assert overview["case"]["employment"] == {"employed": True, "since": started_on.isoformat(),
                                              "contract_type": "permanent", "coaching_continues": True}
    assert overview["employment"]["employed"] is True
    assert overview["employment"]["next_retention_check"]["months"] == 12  # the 6-month one is answered

    report = await gateway.get("/api/v1/employment/reports/participation", headers=as_["tl-carla"])
    assert report.status_code == 200 and report.json()["overall"]["suppressed"] is True  # 2 people: under 5

    await _employment_holds_no_personal_data_and_its_events_match_their_schemas(stack)


async def _intake_audit(stack: RunningStack, person_ids: list[str]) -> set[tuple[str, str]]:
    """What intake's access audit holds of jh-eva's working-name reads of these persons."""
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/intake")
    try:
        rows = await conn.fetch("SELECT record_id::text AS id, outcome FROM access_audit WHERE subject = 'jh-eva' "
                                "AND action = 'GET /working-names' AND record_id::text = ANY($1)", person_ids)
    finally:
        await conn.close()
    return {(row["id"], row["outcome"]) for row in rows}


async def _employment_holds_no_personal_data_and_its_events_match_their_schemas(stack: RunningStack) -> None:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/employment")
    try:
        tables = [r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = "
                                                          "'public' AND tablename <> 'alembic_version'")]
        rows = [r["row"] for table in tables
                for r in await conn.fetch(f'SELECT row_to_json(t)::text AS row FROM "{table}" t')]
        outbox = await conn.fetch("SELECT envelope::text AS envelope FROM outbox")
    finally:
        await conn.close()
    assert len(rows) > 10
    for sentinel in (*SENTINELS.values(), *COA_NUMBERS):
        assert not [row for row in rows if sentinel in row], sentinel
    types = set()
    for row in outbox:
        envelope = Envelope.model_validate_json(row["envelope"])
        schema = json.loads((SCHEMAS / f"{envelope.type}.json").read_text())
        assert list(jsonschema.Draft202012Validator(schema).iter_errors(envelope.data)) == []
        types.add(envelope.type)
    # retention checks come due or overdue are announced by a periodic job: there when it ran
    assert {"employment.placement-started.v1", "employment.application-stepped.v1",
            "employment.retention-checked.v1"} <= types <= {
        "employment.placement-started.v1", "employment.application-stepped.v1", "employment.retention-checked.v1",
        "employment.retention-check-due.v1", "employment.retention-check-overdue.v1",
        "employment.job-hunter-assigned.v1"}


async def test_overview_marks_employment_unavailable_within_its_deadline_while_employment_hangs(
        stack: RunningStack, gateway: httpx.AsyncClient) -> None:
    tl = await token(gateway, grant_type="password", username="tl-carla", password="demo")
    coa = await token(gateway, grant_type="client_credentials", client_id="coa", client_secret="coa-demo-secret")
    person = (await gateway.get(f"/api/v1/coa/status-recognitions/{COA_NUMBERS[1]}", headers=coa)).json()
    employment = stack.pids()["employment"]
    os.kill(employment, signal.SIGSTOP)
    try:
        response = await gateway.get(f"/api/v1/persons/{person['person_id']}/overview", headers=tl)
    finally:
        os.kill(employment, signal.SIGCONT)
    assert response.status_code == 200, response.text
    overview = response.json()
    assert overview["employment"]["unavailable"] is True
    assert overview["employment"]["reason"] == "employment unavailable: no answer in time"
    assert overview["case"]["status"] == "assigned" and overview["person"]["person_id"] == person["person_id"]


async def test_the_job_seeker_list_answers_while_intake_hangs_and_only_the_names_are_missing(
        stack: RunningStack, gateway: httpx.AsyncClient) -> None:
    eva = await token(gateway, grant_type="password", username="jh-eva", password="demo")
    intake = stack.pids()["intake"]
    os.kill(intake, signal.SIGSTOP)
    try:
        listed = await gateway.get("/api/v1/employment/job-seekers", headers=eva)
        names = await gateway.get("/api/v1/intake/working-names", headers=eva, params={"person_id": str(uuid.uuid4())})
    finally:
        os.kill(intake, signal.SIGCONT)
    assert listed.status_code == 200, listed.text
    assert names.status_code in (503, 504) and names.headers["content-type"].startswith("application/problem+json")
