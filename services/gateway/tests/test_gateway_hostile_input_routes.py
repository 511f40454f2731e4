"""Hostile input through the gateway: 413 before authentication, 422 for what no service could store, and a
hanging service that holds nobody for long."""

from __future__ import annotations

import time
import uuid

import pytest
from gateway.main import create_app
from gateway_support import bearer, intake_stand_in, never_answering, serving

from verbinding_common.auth import Role
from verbinding_testing.fixtures import running_app

PUSH = "/api/v1/coa/status-recognitions"
CASE = "00000000-0000-4000-8000-00000000000c"
PERSON = "00000000-0000-4000-8000-000000000001"


def recognition(**changes: object) -> dict:
    values = {"coa_registration_number": f"V-{uuid.uuid4().hex[:10]}", "recognised_on": "2025-03-01",
              "family_name": "Haddad", "given_names": "Lina", "date_of_birth": "1990-05-01", "gender": "female",
              "country_of_origin": "SY", "languages": ["ar"], "reception_centre": "AZC Amsterdam-Zuid"}
    values.update(changes)
    return values


@pytest.fixture
async def gateway(make_settings):
    app = create_app(make_settings())
    async with running_app(app) as client:
        yield app, client


@pytest.mark.parametrize("path, headers", [
    ("/oauth/token", {"content-type": "application/x-www-form-urlencoded"}),
    (PUSH, {"content-type": "application/json"}),
    (f"/api/v1/case-plan/cases/{CASE}/action-plan", {"content-type": "application/json"}),
])
async def test_a_body_over_the_limit_without_a_token_is_413_before_anything_reads_it(gateway, path: str,
                                                                                      headers: dict) -> None:
    _, client = gateway
    response = await client.post(path, content=b"a" * (3 * 1024 * 1024), headers=headers)
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


HOSTILE = [
    ("GET", "/api/v1/coa/status-recognitions/%00", None, Role.coa_integration),
    ("POST", PUSH, recognition(family_name="Had\u0000dad"), Role.coa_integration),
    ("POST", PUSH, {"recognitions": [recognition(), recognition(given_names="\u0000")]}, Role.coa_integration),
    ("POST", PUSH, "deep", Role.coa_integration),
    # A mounted route's path parameters are the owning service's to check (it declares their types; the gateway
    # passes them on encoded): the fuzz through the real services proves those 422s.
    ("GET", "/api/v1/persons/V-123456/overview", None, Role.case_manager),
    ("GET", "/api/v1/case-plan/caseload?page=%00", None, Role.case_manager),
    ("POST", "/api/v1/case-plan/case-managers", {"subject": "cm-\u0000", "name": "x", "capacity": 99999999999999999999},
     Role.team_lead),
]


@pytest.mark.parametrize("method, path, body, role", HOSTILE, ids=[f"{m} {p[:60]}" for m, p, _, _ in HOSTILE])
async def test_input_no_service_could_store_is_422_at_the_gateway(gateway, method: str, path: str, body: object,
                                                                  role: Role) -> None:
    app, client = gateway
    content = b"[" * 5000 + b"]" * 5000 if body == "deep" else None
    response = await client.request(method, path, json=None if content else body, content=content,
                                    headers={**bearer(app, role), "content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert "Haddad" not in response.text and "V-123456" not in response.text


async def test_a_hanging_case_plan_leaves_the_overview_within_its_deadline_with_that_section_unavailable(
        make_settings, identity_keys) -> None:
    person = {"person_id": PERSON, "household_id": PERSON}
    intake = intake_stand_in(identity_keys[1], persons={PERSON: person}, recognitions={})
    async with serving(intake) as intake_url, never_answering() as hung_url:
        app = create_app(make_settings(intake_url=intake_url, case_plan_url=hung_url,
                                       overview_timeout_s=5.0, downstream_timeout_s=8.0))
        async with running_app(app) as client:
            started = time.monotonic()
            overview = await client.get(f"/api/v1/persons/{PERSON}/overview", headers=bearer(app, Role.case_manager))
            overview_s = time.monotonic() - started
            started = time.monotonic()
            case = await client.get(f"/api/v1/case-plan/cases/{CASE}", headers=bearer(app, Role.case_manager))
            case_s = time.monotonic() - started
    assert overview.status_code == 200
    assert overview.json()["person"] == person
    assert overview.json()["case"]["unavailable"] is True and overview.json()["action_plan"]["unavailable"] is True
    assert overview_s < 15, f"the overview took {overview_s:.2f} s"  # a functional deadline (5 s), generously bounded
    assert case.status_code == 503 and case.headers["retry-after"]
    assert case_s < 20, f"a forwarded route took {case_s:.2f} s"  # its deadline: 8 s
