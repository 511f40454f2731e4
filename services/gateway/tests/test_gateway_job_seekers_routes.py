"""The job hunter's list of job seekers with their working names: employment's list, then intake asked once per page
as the caller; the list still answers when intake does not. Employment and intake are stand-ins over real HTTP that
check the gateway's identity as every service does (the real pair runs in tests/e2e/journeys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Query
from gateway.main import create_app
from gateway_support import bearer, closed_port_url, serving

from verbinding_common.auth import CurrentIdentity, IdentityVerifier, Role, allow
from verbinding_testing.fixtures import running_app

SEEKERS = [{"person_id": f"00000000-0000-4000-8000-{n:012d}", "languages": ["ar"], "dutch_level": "A2"}
           for n in range(1, 251)]
NAMES = {seeker["person_id"]: f"Name{n}" for n, seeker in enumerate(SEEKERS) if n % 2 == 0}


def employment_stand_in(public_pem: str) -> FastAPI:
    app = FastAPI()
    app.state.identity_verifier = IdentityVerifier(public_pem, audience="employment")

    @app.get("/job-seekers", dependencies=[Depends(allow(Role.job_hunter, Role.team_lead))])
    async def job_seekers() -> list[dict]:
        return SEEKERS

    return app


def intake_stand_in(public_pem: str) -> FastAPI:
    """Names only the even ones, as intake names only the caller's own job seekers; records each call."""
    app = FastAPI()
    app.state.identity_verifier = IdentityVerifier(public_pem, audience="intake")
    app.state.calls = []

    @app.get("/working-names", dependencies=[Depends(allow(Role.job_hunter))])
    async def working_names(identity: CurrentIdentity,
                            person_id: Annotated[list[str], Query(max_length=200)]) -> list[dict]:
        app.state.calls.append((identity.subject, len(person_id)))
        return [{"person_id": p, "working_name": NAMES[p]} for p in person_id if p in NAMES]

    return app


async def test_each_job_seeker_gets_the_working_name_intake_gives_the_caller_in_one_call_per_page(
        make_settings, identity_keys) -> None:
    intake = intake_stand_in(identity_keys[1])
    async with serving(intake) as intake_url, serving(employment_stand_in(identity_keys[1])) as employment_url:
        app = create_app(make_settings(intake_url=intake_url, employment_url=employment_url))
        async with running_app(app) as client:
            response = await client.get("/api/v1/job-seekers", headers=bearer(app, Role.job_hunter, subject="jh-eva"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["working_names"] == {"available": True, "reason": None}
    assert [s["working_name"] for s in body["job_seekers"][:3]] == ["Name0", None, "Name2"]
    assert body["job_seekers"][1] == {**SEEKERS[1], "working_name": None}
    assert sorted(intake.state.calls) == [("jh-eva", 50), ("jh-eva", 200)]


async def test_with_intake_down_the_list_still_answers_its_names_unavailable(make_settings, identity_keys) -> None:
    async with serving(employment_stand_in(identity_keys[1])) as employment_url:
        app = create_app(make_settings(intake_url=closed_port_url(), employment_url=employment_url))
        async with running_app(app) as client:
            response = await client.get("/api/v1/job-seekers", headers=bearer(app, Role.job_hunter))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["working_names"] == {"available": False, "reason": "intake unavailable: ConnectError"}
    assert len(body["job_seekers"]) == len(SEEKERS) and all(s["working_name"] is None for s in body["job_seekers"])


async def test_a_team_lead_sees_the_list_without_names_and_intake_is_not_asked(make_settings, identity_keys) -> None:
    intake = intake_stand_in(identity_keys[1])
    async with serving(intake) as intake_url, serving(employment_stand_in(identity_keys[1])) as employment_url:
        app = create_app(make_settings(intake_url=intake_url, employment_url=employment_url))
        async with running_app(app) as client:
            response = await client.get("/api/v1/job-seekers", headers=bearer(app, Role.team_lead))
            refused = await client.get("/api/v1/job-seekers", headers=bearer(app, Role.case_manager))
    assert response.status_code == 200 and refused.status_code == 403
    assert response.json()["working_names"]["available"] is False
    assert all(s["working_name"] is None for s in response.json()["job_seekers"]) and intake.state.calls == []
