"""The overview's employment section, degrading on its own, and the job hunters' routes forwarded as the caller.

Intake, case-plan and employment are stand-ins served over real HTTP that check the gateway's identity header the
way every service does; the gateway's database and the broker are real. The real employment service behind the
real gateway is exercised end to end in tests/e2e/test_employment_journey.py.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from fastapi import Depends, FastAPI, HTTPException
from gateway.main import create_app
from gateway_support import bearer, case_plan_stand_in, closed_port_url, intake_stand_in, serving

from verbinding_common.auth import CurrentIdentity, IdentityVerifier, Role, allow
from verbinding_testing.fixtures import running_app

P1, P2 = str(uuid.uuid4()), str(uuid.uuid4())
PERSON = {"person_id": "p-1", "status": "in_intake"}
CASE = {"case_id": "c-1", "person_id": "p-1", "status": "assigned",
        "employment": {"employed": True, "since": "2025-02-03", "contract_type": "permanent",
                       "coaching_continues": True}}
WORK = {"person_id": "p-1", "employed": True, "placements": [{"placement_id": "pl-1", "sector": "care"}],
        "next_retention_check": {"months": 6, "due_on": "2025-08-03"}}


PLACEMENT = {"employer_id": str(uuid.uuid4()), "contract_type": "permanent", "hours_per_week": 32, "sector": "care",
             "started_on": "2025-02-03"}


def employment_stand_in(public_identity_pem: str, *, hang: bool = False) -> FastAPI:
    app = FastAPI()
    app.state.identity_verifier = IdentityVerifier(public_identity_pem, audience="employment")
    app.state.callers = []

    @app.get("/persons/{person_id}/employment",
             dependencies=[Depends(allow(Role.case_manager, Role.team_lead, Role.job_hunter))])
    async def employment(person_id: str, identity: CurrentIdentity) -> dict:
        app.state.callers.append(identity.subject)
        if hang:
            await asyncio.sleep(30)
        if person_id != P1:
            raise HTTPException(404, "no job seeker")
        return WORK

    @app.get("/job-seekers/{person_id}/matches", dependencies=[Depends(allow(Role.job_hunter, Role.team_lead))])
    async def matches(person_id: str, identity: CurrentIdentity, limit: int = 20) -> list:
        app.state.callers.append(identity.subject)
        if person_id != P1:
            raise HTTPException(404, "no job seeker")
        return [{"rank": 1, "limit": limit}]

    @app.post("/job-seekers/{person_id}/placements", dependencies=[Depends(allow(Role.job_hunter))])
    async def place(person_id: str, body: dict, identity: CurrentIdentity) -> dict:
        return {"person_id": person_id, **body, "recorded_by": identity.subject}

    return app


@pytest.fixture
def neighbours(identity_keys):
    return (intake_stand_in(identity_keys[1], persons={P1: PERSON}, recognitions={}),
            case_plan_stand_in(identity_keys[1], cases_by_person={P1: CASE}, plans={}))


async def test_overview_shows_the_employment_section_beside_the_case_that_stays_open(make_settings, neighbours,
                                                                                      identity_keys) -> None:
    intake, case_plan = neighbours
    employment = employment_stand_in(identity_keys[1])
    async with serving(intake) as intake_url, serving(case_plan) as case_plan_url, \
            serving(employment) as employment_url:
        app = create_app(make_settings(intake_url=intake_url, case_plan_url=case_plan_url,
                                       employment_url=employment_url))
        async with running_app(app) as client:
            response = await client.get(f"/api/v1/persons/{P1}/overview",
                                        headers=bearer(app, Role.case_manager, subject="cm-anna"))
    assert response.status_code == 200, response.text
    assert response.json() == {"person_id": P1, "person": PERSON, "case": CASE, "action_plan": None,
                               "employment": WORK}
    assert employment.state.callers == ["cm-anna"]


@pytest.mark.parametrize("state", ["down", "hanging"])
async def test_overview_marks_employment_unavailable_within_its_deadline_and_keeps_the_rest(
        make_settings, neighbours, identity_keys, state: str) -> None:
    intake, case_plan = neighbours
    async with serving(intake) as intake_url, serving(case_plan) as case_plan_url, \
            serving(employment_stand_in(identity_keys[1], hang=True)) as hanging_url:
        app = create_app(make_settings(intake_url=intake_url, case_plan_url=case_plan_url, overview_timeout_s=5.0,
                                       employment_url=closed_port_url() if state == "down" else hanging_url))
        async with running_app(app) as client:
            response = await client.get(f"/api/v1/persons/{P1}/overview", headers=bearer(app, Role.team_lead))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["person"], body["case"]) == (PERSON, CASE)
    reason = "employment unavailable: " + ("ConnectError" if state == "down" else "no answer in time")
    assert body["employment"] == {"unavailable": True, "reason": reason}


async def test_job_hunter_routes_forward_as_the_caller_with_query_and_answers_passed_through(
        make_settings, identity_keys) -> None:
    employment = employment_stand_in(identity_keys[1])
    async with serving(employment) as employment_url:
        app = create_app(make_settings(employment_url=employment_url))
        async with running_app(app) as client:
            eva = bearer(app, Role.job_hunter, subject="jh-eva")
            ranked = await client.get(f"/api/v1/employment/job-seekers/{P1}/matches", params={"limit": 5}, headers=eva)
            unknown = await client.get(f"/api/v1/employment/job-seekers/{P2}/matches", headers=eva)
            placed = await client.post(f"/api/v1/employment/job-seekers/{P1}/placements", json=PLACEMENT, headers=eva)
            as_case_manager = await client.post(f"/api/v1/employment/job-seekers/{P1}/placements", json=PLACEMENT,
                                                headers=bearer(app, Role.case_manager))
        down = create_app(make_settings(employment_url=closed_port_url()))
        async with running_app(down) as client:
            unavailable = await client.get("/api/v1/employment/retention-checks/due",
                                           headers=bearer(down, Role.job_hunter))
    assert (ranked.status_code, ranked.json()) == (200, [{"rank": 1, "limit": 5}])
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "no job seeker"})
    # The body goes on as sent: employment's own model is the one that validates it (no copy at the door).
    assert placed.json() == {"person_id": P1, **PLACEMENT, "recorded_by": "jh-eva"}, "forwarded as given"
    assert as_case_manager.status_code == 403
    assert (unavailable.status_code, unavailable.json()["detail"]) == (503, "employment unavailable")
    assert employment.state.callers == ["jh-eva", "jh-eva"]
