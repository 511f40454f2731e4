"""The person overview degrades per section, and forwarded routes pass answers through as the caller.

Intake and case-plan are stand-ins served over real HTTP (tests/gateway_support.py) that check the gateway's
identity header the way every service does; the database and the broker are real.
"""

from __future__ import annotations

import time

import pytest
from gateway.main import create_app
from gateway_support import bearer, case_plan_stand_in, closed_port_url, intake_stand_in, serving

from verbinding_common.auth import Role, generate_signing_key
from verbinding_testing.fixtures import running_app

P1 = "00000000-0000-4000-8000-000000000001"
C1 = "00000000-0000-4000-8000-00000000000c"
P_SLOW = "00000000-0000-4000-8000-00000000005e"
P_UNKNOWN = "00000000-0000-4000-8000-000000000404"
P_OTHER = "00000000-0000-4000-8000-000000000009"
INTERVIEW = {"education_level": 3, "years_of_work_experience": 2, "dutch_level": "A1", "domains_of_need": ["work"]}
PERSON = {"person_id": P1, "coa_registration_number": "V-1001", "family_name": "Haddad", "given_names": "Lina",
          "status": "in_intake"}
CASE = {"case_id": C1, "person_id": P1, "status": "assigned", "case_manager_id": "cm-anna",
        "waitlist_position": None}
PLAN = {"case_id": C1, "version": 2, "objectives": [{"domain": "language", "term": "short"}]}


@pytest.fixture
def neighbours(identity_keys):
    intake = intake_stand_in(identity_keys[1], persons={P1: PERSON, P_SLOW: {**PERSON, "person_id": P_SLOW}},
                             recognitions={})
    case_plan = case_plan_stand_in(identity_keys[1], cases_by_person={P1: CASE}, plans={C1: PLAN},
                                   slow_persons=frozenset({P_SLOW}))
    return intake, case_plan


async def test_overview_composes_person_case_and_action_plan_as_the_caller(make_settings, neighbours) -> None:
    intake, case_plan = neighbours
    async with serving(intake) as intake_url, serving(case_plan) as case_plan_url:
        app = create_app(make_settings(intake_url=intake_url, case_plan_url=case_plan_url))
        async with running_app(app) as client:
            response = await client.get(f"/api/v1/persons/{P1}/overview",
                                        headers=bearer(app, Role.case_manager, subject="cm-anna"))
    assert response.status_code == 200, response.text
    assert response.json() == {"person_id": P1, "person": PERSON, "case": CASE, "action_plan": PLAN,
                               "employment": {"unavailable": True, "reason": "employment unavailable: ConnectError"}}
    assert [caller.subject for caller in intake.state.callers + case_plan.state.callers] == ["cm-anna", "cm-anna"]


async def test_overview_with_case_plan_down_still_returns_intakes_section(make_settings, neighbours) -> None:
    intake, _ = neighbours
    async with serving(intake) as intake_url:
        app = create_app(make_settings(intake_url=intake_url, case_plan_url=closed_port_url()))
        async with running_app(app) as client:
            response = await client.get(f"/api/v1/persons/{P1}/overview", headers=bearer(app, Role.team_lead))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["person"] == PERSON
    assert body["case"]["unavailable"] is True and "case-plan unavailable" in body["case"]["reason"]
    assert body["action_plan"]["unavailable"] is True


async def test_overview_does_not_wait_past_its_timeout_for_a_slow_service(make_settings, neighbours) -> None:
    intake, case_plan = neighbours
    async with serving(intake) as intake_url, serving(case_plan) as case_plan_url:
        app = create_app(make_settings(intake_url=intake_url, case_plan_url=case_plan_url, overview_timeout_s=5.0))
        async with running_app(app) as client:
            started = time.monotonic()
            response = await client.get(f"/api/v1/persons/{P_SLOW}/overview", headers=bearer(app, Role.case_manager))
            elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["person"]["person_id"] == P_SLOW
    assert response.json()["case"] == {"unavailable": True, "reason": "case-plan unavailable: no answer in time"}
    assert elapsed < 15  # the deadline (5 s), not the slow answer (30 s); generous for a busy machine


async def test_overview_with_intake_down_marks_the_person_unavailable_and_keeps_the_case(make_settings,
                                                                                         neighbours) -> None:
    _, case_plan = neighbours
    async with serving(case_plan) as case_plan_url:
        app = create_app(make_settings(intake_url=closed_port_url(), case_plan_url=case_plan_url))
        async with running_app(app) as client:
            response = await client.get(f"/api/v1/persons/{P1}/overview", headers=bearer(app, Role.case_manager))
    assert response.status_code == 200
    assert response.json()["person"]["unavailable"] is True
    assert response.json()["case"] == CASE and response.json()["action_plan"] == PLAN


async def test_overview_of_a_person_intake_does_not_know_is_404(make_settings, neighbours) -> None:
    intake, case_plan = neighbours
    async with serving(intake) as intake_url, serving(case_plan) as case_plan_url:
        app = create_app(make_settings(intake_url=intake_url, case_plan_url=case_plan_url))
        async with running_app(app) as client:
            response = await client.get(f"/api/v1/persons/{P_UNKNOWN}/overview", headers=bearer(app, Role.case_manager))
    assert response.status_code == 404


async def test_forwarded_routes_pass_status_and_body_through_and_map_a_dead_service_to_503(make_settings,
                                                                                           neighbours) -> None:
    intake, case_plan = neighbours
    async with serving(intake) as intake_url, serving(case_plan) as case_plan_url:
        app = create_app(make_settings(intake_url=intake_url, case_plan_url=case_plan_url))
        async with running_app(app) as client:
            anna = bearer(app, Role.case_manager, subject="cm-anna")
            caseload = await client.get("/api/v1/case-plan/caseload", headers=anna)
            closed = await client.post(f"/api/v1/case-plan/cases/{C1}/close", json={"reason": "moved"}, headers=anna)
            interview = await client.put(f"/api/v1/intake/persons/{P1}/interview", json=INTERVIEW, headers=anna)
            unknown = await client.put(f"/api/v1/intake/persons/{P_OTHER}/interview", json=INTERVIEW, headers=anna)
        dead = create_app(make_settings(intake_url=intake_url, case_plan_url=closed_port_url()))
        async with running_app(dead) as client:
            down = await client.get("/api/v1/case-plan/caseload", headers=bearer(dead, Role.case_manager))
    assert caseload.status_code == 200 and caseload.json()["case_manager"] == "cm-anna"
    assert closed.status_code == 409
    assert closed.json() == {"detail": f"case {C1} is already closed", "reason": "moved"}
    assert interview.status_code == 200
    assert interview.json() == {"person_id": P1, **INTERVIEW, "recorded_by": "cm-anna"}
    assert unknown.status_code == 404 and unknown.json() == {"detail": "no such person"}
    assert down.status_code == 503 and down.json()["detail"] == "case-plan unavailable"


async def test_a_service_refusing_the_gateways_identity_is_a_502_not_the_callers_401(make_settings,
                                                                                     neighbours) -> None:
    intake, _ = neighbours
    async with serving(intake) as intake_url:
        # A gateway holding another identity key than the one services trust.
        app = create_app(make_settings(intake_url=intake_url, identity_signing_key=generate_signing_key()[0]))
        async with running_app(app) as client:
            response = await client.put(f"/api/v1/intake/persons/{P1}/interview", json=INTERVIEW,
                                        headers=bearer(app, Role.case_manager))
    assert response.status_code == 502
    assert response.json() == {"detail": "intake did not accept the gateway's identity"}
