"""The COA's status lookup: intake's status projection once intake knows the number, the gateway's receipt before.

Intake is a stand-in served over real HTTP (tests/gateway_support.py); the receipt comes from a real push on the
real broker into the real database.
"""

from __future__ import annotations

import uuid

from gateway.main import create_app
from gateway_support import bearer, closed_port_url, intake_stand_in, serving

from verbinding_common.auth import Role
from verbinding_testing.fixtures import running_app

PUSH = "/api/v1/coa/status-recognitions"


def recognition(number: str) -> dict:
    return {"coa_registration_number": number, "recognised_on": "2025-03-01", "family_name": "Haddad",
            "given_names": "Lina", "date_of_birth": "1990-05-01", "gender": "female", "country_of_origin": "SY",
            "languages": ["ar"], "reception_centre": "AZC Amsterdam-Zuid"}


def number() -> str:
    return f"V-{uuid.uuid4().hex[:10]}"


def progress(number: str, status: str, *, case: str | None = None, reason: str | None = None) -> dict:
    """Intake's answer: its status projection of the number."""
    return {"coa_registration_number": number, "status": status, "reason": reason,
            "person_id": None if status == "rejected" else f"p-{number}", "case_id": case,
            "taken_at": "2025-03-02T09:00:00Z", "updated_at": "2025-03-03T09:00:00Z"}


async def test_status_is_the_receipt_until_intake_knows_the_number_then_intakes_projection(make_settings,
                                                                                           identity_keys) -> None:
    received, rejected, assigned, waitlisted, registered_only, direct = (number() for _ in range(6))
    recognitions = {rejected: progress(rejected, "rejected", reason="unstorable_text"),
                    assigned: progress(assigned, "case_manager_assigned", case="c-1"),
                    waitlisted: progress(waitlisted, "waitlisted", case="c-2"),
                    registered_only: progress(registered_only, "person_registered"),
                    direct: progress(direct, "case_closed", case="c-3")}
    intake = intake_stand_in(identity_keys[1], persons={}, recognitions=recognitions)
    async with serving(intake) as intake_url:
        # case-plan is not asked: the status is intake's projection, not assembled at read time.
        app = create_app(make_settings(intake_url=intake_url, case_plan_url=closed_port_url()))
        async with running_app(app) as client:
            coa = bearer(app, Role.coa_integration, subject="coa", kind="client")
            pushed = await client.post(PUSH, json={"recognitions": [recognition(n) for n in (
                received, rejected, assigned, waitlisted, registered_only)]}, headers=coa)
            assert pushed.status_code == 202, pushed.text
            answers = {n: await client.get(f"{PUSH}/{n}", headers=coa)
                       for n in (received, rejected, assigned, waitlisted, registered_only, direct)}
            unknown = await client.get(f"{PUSH}/{number()}", headers=bearer(app, Role.team_lead))
    body = {n: answer.json() for n, answer in answers.items()}
    assert all(answer.status_code == 200 for answer in answers.values()), body
    assert body[received]["status"] == "received" and body[received]["person_id"] is None
    assert body[received]["received_at"] is not None and body[received]["unavailable"] == []
    assert body[rejected]["status"] == "rejected" and body[rejected]["reason"] == "unstorable_text"
    assert body[rejected]["person_id"] is None and "Haddad" not in answers[rejected].text
    assert body[registered_only]["status"] == "person_registered"
    assert body[registered_only]["person_id"] == f"p-{registered_only}" and body[registered_only]["case"] is None
    assert body[assigned]["status"] == "case_manager_assigned" and body[assigned]["case"] == {"case_id": "c-1"}
    assert body[waitlisted]["status"] == "waitlisted" and body[waitlisted]["case"] == {"case_id": "c-2"}
    # Produced straight to Kafka by the COA: no receipt here, the time intake took it in stands in.
    assert body[direct]["status"] == "case_closed" and body[direct]["received_at"].startswith("2025-03-02T09:00")
    assert not body[rejected]["received_at"].startswith("2025-03-02"), "the gateway's receipt comes first"
    assert unknown.status_code == 404
    assert {caller.subject for caller in intake.state.callers} == {"coa", "tester"}


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
