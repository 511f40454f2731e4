"""The COA's status lookup, composed from the gateway's receipt, intake and case-plan.

Intake and case-plan are stand-ins served over real HTTP (tests/gateway_support.py); the receipt comes from a real
push on the real broker into the real database.
"""

from __future__ import annotations

import uuid

from gateway.main import create_app
from gateway_support import bearer, case_plan_stand_in, closed_port_url, intake_stand_in, serving

from verbinding_common.auth import Role
from verbinding_testing.fixtures import running_app

PUSH = "/api/v1/coa/status-recognitions"


def recognition(number: str) -> dict:
    return {"coa_registration_number": number, "recognised_on": "2025-03-01", "family_name": "Haddad",
            "given_names": "Lina", "date_of_birth": "1990-05-01", "gender": "female", "country_of_origin": "SY",
            "languages": ["ar"], "reception_centre": "AZC Amsterdam-Zuid"}


def number() -> str:
    return f"V-{uuid.uuid4().hex[:10]}"


async def test_status_follows_a_recognition_from_receipt_to_assigned_or_waitlisted_case(make_settings,
                                                                                         identity_keys) -> None:
    received, assigned, waitlisted, registered_only, direct = (number() for _ in range(5))
    registered_at = "2025-03-02T09:00:00Z"
    recognitions = {n: {"coa_registration_number": n, "person_id": f"p-{n}", "household_id": "h-1",
                        "registered_at": registered_at} for n in (assigned, waitlisted, registered_only, direct)}
    cases = {f"p-{assigned}": {"case_id": "c-1", "status": "assigned", "waitlist_position": None},
             f"p-{waitlisted}": {"case_id": "c-2", "status": "waitlisted", "waitlist_position": 4},
             f"p-{direct}": {"case_id": "c-3", "status": "closed", "waitlist_position": None}}
    intake = intake_stand_in(identity_keys[1], persons={}, recognitions=recognitions)
    case_plan = case_plan_stand_in(identity_keys[1], cases_by_person=cases, plans={})
    async with serving(intake) as intake_url, serving(case_plan) as case_plan_url:
        app = create_app(make_settings(intake_url=intake_url, case_plan_url=case_plan_url))
        async with running_app(app) as client:
            coa = bearer(app, Role.coa_integration, subject="coa", kind="client")
            pushed = await client.post(PUSH, json={"recognitions": [recognition(n) for n in
                                                                    (received, assigned, waitlisted, registered_only)]},
                                       headers=coa)
            assert pushed.status_code == 202, pushed.text
            answers = {n: await client.get(f"{PUSH}/{n}", headers=coa)
                       for n in (received, assigned, waitlisted, registered_only, direct)}
            unknown = await client.get(f"{PUSH}/{number()}", headers=bearer(app, Role.team_lead))
    body = {n: answer.json() for n, answer in answers.items()}
    assert all(answer.status_code == 200 for answer in answers.values()), body
    assert body[received]["status"] == "received" and body[received]["person_id"] is None
    assert body[received]["received_at"] is not None
    assert body[registered_only]["status"] == "person_registered"
    assert body[registered_only]["person_id"] == f"p-{registered_only}" and body[registered_only]["case"] is None
    assert body[assigned]["status"] == "case_manager_assigned"
    assert body[assigned]["case"] == {"case_id": "c-1", "status": "assigned", "waitlist_position": None}
    assert body[waitlisted]["status"] == "waitlisted" and body[waitlisted]["case"]["waitlist_position"] == 4
    # Produced straight to Kafka by the COA: no receipt here, intake's registration time stands in.
    assert body[direct]["status"] == "case_closed" and body[direct]["received_at"].startswith("2025-03-02T09:00")
    assert unknown.status_code == 404
    assert {caller.subject for caller in intake.state.callers + case_plan.state.callers} == {"coa", "tester"}


async def test_status_with_intake_down_falls_back_to_the_receipt_or_503(make_settings) -> None:
    app = create_app(make_settings(intake_url=closed_port_url(), case_plan_url=closed_port_url()))
    received = number()
    async with running_app(app) as client:
        coa = bearer(app, Role.coa_integration, kind="client")
        assert (await client.post(PUSH, json=recognition(received), headers=coa)).status_code == 202
        known = await client.get(f"{PUSH}/{received}", headers=coa)
        unknown = await client.get(f"{PUSH}/{number()}", headers=coa)
    assert known.status_code == 200
    assert known.json()["status"] == "received" and known.json()["unavailable"] == ["intake"]
    assert unknown.status_code == 503 and unknown.json()["detail"] == "intake unavailable"
