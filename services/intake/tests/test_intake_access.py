"""Who may read and record what over HTTP, the shapes the gateway relies on, and the audit of every read and every
refused attempt."""

from __future__ import annotations

import uuid

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from intake.audit.models import AccessAuditTable
from intake.main import create_app
from sqlalchemy import select

from verbinding_common.auth import OPEN_PATHS, Role, allowed_roles, routes_without_allow_list

ALL_ROLES = {str(role) for role in Role}

# The agreed API (the gateway is written against exactly this): method, path, allowed roles.
ALLOW_LISTS = {
    ("GET", "/persons/{person_id}"): {"case_manager", "team_lead"},
    ("GET", "/persons"): {"case_manager", "team_lead"},
    ("GET", "/recognitions/{coa_registration_number}/status"): {"coa_integration", "team_lead", "case_manager"},
    ("GET", "/households/{household_id}"): {"case_manager", "team_lead"},
    ("PUT", "/persons/{person_id}/interview"): {"case_manager"},
    ("GET", "/persons/{person_id}/interview"): {"case_manager", "team_lead"},
    ("POST", "/persons/{person_id}/corrections"): {"case_manager", "team_lead"},
    ("POST", "/persons/{person_id}/access-requests"): {"team_lead"},
    ("GET", "/access-requests/{request_id}"): {"team_lead"},
    ("GET", "/working-names"): {"job_hunter"},
}

INTERVIEW = {"education_level": 3, "years_of_work_experience": 2, "dutch_level": "A0",
             "other_languages": [], "domains_of_need": ["work"], "consent_partners": []}


def declared_allow_lists(app) -> dict[tuple[str, str], set[str] | None]:
    """Every route's allow-list, walking included routers (FastAPI 0.165 keeps them out of app.routes)."""
    found = {}
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.path not in OPEN_PATHS:
            roles = allowed_roles(context)
            for method in context.methods:
                found[(method, context.path)] = None if roles is None else {str(r) for r in roles}
    return found


def test_every_route_declares_the_agreed_allow_list() -> None:
    app = create_app()
    assert routes_without_allow_list(app) == []
    assert declared_allow_lists(app) == ALLOW_LISTS


def request_for(method: str, path: str) -> tuple[str, str, dict | None]:
    url = (path.replace("{person_id}", str(uuid.uuid4())).replace("{request_id}", str(uuid.uuid4()))
           .replace("{household_id}", str(uuid.uuid4()))
           .replace("{coa_registration_number}", "V-0000"))
    if path == "/persons":
        url += "?coa_registration_number=V-0000"
    if path == "/working-names":
        url += f"?person_id={uuid.uuid4()}"
    return method, url, {"PUT": INTERVIEW, "POST": {"languages": ["ar"], "reason": "misheard"}}.get(method)


@pytest.mark.parametrize(("route", "role"), [
    (route, role) for route, allowed in ALLOW_LISTS.items() for role in sorted(ALL_ROLES - allowed)
])
async def test_a_role_outside_the_allow_list_is_forbidden(intake, route, role) -> None:
    method, url, body = request_for(*route)
    response = await intake.client.request(method, url, json=body, headers=intake.headers(role))
    assert response.status_code == 403, response.text


@pytest.mark.parametrize("route", list(ALLOW_LISTS))
async def test_a_request_without_a_gateway_identity_is_unauthorised(intake, route) -> None:
    method, url, body = request_for(*route)
    assert (await intake.client.request(method, url, json=body)).status_code == 401
    forged = {"X-Verbinding-Identity": "not-a-token"}
    assert (await intake.client.request(method, url, json=body, headers=forged)).status_code == 401


async def test_person_record_shows_everything_intake_holds(intake) -> None:
    person = await intake.register(given_names="Yonas", family_name="Tesfaye", gender="male",
                                   country_of_origin="ER", languages=["ti", "ar"], date_of_birth="1995-02-20",
                                   reception_centre="AZC Amsterdam Zeeburg")
    await intake.hold(person.id)
    response = await intake.client.get(f"/persons/{person.id}", headers=intake.headers("case_manager"))
    assert response.status_code == 200
    body = response.json()
    registered_at = body.pop("registered_at")
    assert registered_at
    assert body == {
        "person_id": str(person.id), "coa_registration_number": person.coa_registration_number,
        "family_name": "Tesfaye", "given_names": "Yonas", "date_of_birth": "1995-02-20", "gender": "male",
        "country_of_origin": "ER", "languages": ["ti", "ar"], "reception_centre": "AZC Amsterdam Zeeburg",
        "recognised_on": "2024-03-01", "household_id": str(person.household_id), "family_reunification": False,
        "status": "in_intake", "interview": None,
    }
    missing = await intake.client.get(f"/persons/{uuid.uuid4()}", headers=intake.headers("case_manager"))
    assert missing.status_code == 404
    assert "detail" in missing.json()


async def test_lookup_by_coa_number_returns_zero_or_one_person(intake) -> None:
    person = await intake.register()
    found = await intake.client.get("/persons", params={"coa_registration_number": person.coa_registration_number},
                                    headers=intake.headers("team_lead"))
    assert found.status_code == 200
    assert [p["person_id"] for p in found.json()] == [str(person.id)]
    none = await intake.client.get("/persons", params={"coa_registration_number": intake.new_coa_number()},
                                   headers=intake.headers("team_lead"))
    assert none.status_code == 200
    assert none.json() == []


async def test_recognition_status_tells_the_coa_only_how_far_it_got_and_under_which_ids(intake) -> None:
    person = await intake.register()
    response = await intake.client.get(f"/recognitions/{person.coa_registration_number}/status",
                                       headers=intake.headers("coa_integration", subject="coa"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"coa_registration_number", "status", "reason", "person_id", "case_id", "taken_at",
                         "updated_at"}
    assert body["status"] == "person_registered" and body["reason"] is None and body["case_id"] is None
    assert body["person_id"] == str(person.id)
    assert body["coa_registration_number"] == person.coa_registration_number
    unknown = await intake.client.get(f"/recognitions/{intake.new_coa_number()}/status",
                                      headers=intake.headers("coa_integration", subject="coa"))
    assert unknown.status_code == 404
    assert "detail" in unknown.json()


async def test_household_lists_its_members(intake) -> None:
    first = await intake.register(given_names="Karim", family_name="Haddad")
    partner = await intake.register(given_names="Amal", family_name="Haddad",
                                    family_reunification_with=first.coa_registration_number)
    response = await intake.client.get(f"/households/{first.household_id}", headers=intake.headers("team_lead"))
    assert response.status_code == 200
    assert response.json() == {"household_id": str(first.household_id), "members": [
        {"person_id": str(first.id), "given_names": "Karim", "family_name": "Haddad", "family_reunification": False},
        {"person_id": str(partner.id), "given_names": "Amal", "family_name": "Haddad",
         "family_reunification": True},
    ]}
    missing = await intake.client.get(f"/households/{uuid.uuid4()}", headers=intake.headers("team_lead"))
    assert missing.status_code == 404


async def audit_rows(intake, record_id) -> list:
    table = AccessAuditTable
    async with intake.sessionmaker() as session:
        return list((await session.execute(
            select(table).where(table.c.record_id == record_id).order_by(table.c.id))).all())


async def test_reading_a_person_writes_an_access_audit_row(intake) -> None:
    person = await intake.register()
    assert await audit_rows(intake, person.id) == []
    response = await intake.client.get(f"/persons/{person.id}",
                                       headers=intake.headers("case_manager", "team_lead", subject="tl-bram"))
    assert response.status_code == 200

    [row] = await audit_rows(intake, person.id)
    assert (row.subject, sorted(row.roles), row.team) == ("tl-bram", ["case_manager", "team_lead"], "west")
    assert (row.action, row.record_kind, row.outcome) == ("GET /persons/{person_id}", "person", "allowed")
    assert row.at is not None


async def test_every_way_of_reading_a_person_is_audited(intake) -> None:
    person = await intake.register()
    partner = await intake.register(family_reunification_with=person.coa_registration_number)
    await intake.hold(person.id, subject="cm-anna")
    await intake.hold(partner.id, subject="cm-bram")
    cm = intake.headers("case_manager", subject="cm-anna")
    await intake.client.put(f"/persons/{person.id}/interview", json=INTERVIEW, headers=cm)
    await intake.client.get("/persons", params={"coa_registration_number": person.coa_registration_number},
                            headers=cm)
    await intake.client.get(f"/persons/{person.id}/interview", headers=cm)
    household = await intake.client.get(f"/households/{person.household_id}", headers=cm)
    await intake.client.get(f"/recognitions/{person.coa_registration_number}/status",
                            headers=intake.headers("coa_integration", subject="coa"))

    assert [(r.subject, r.action, r.outcome) for r in await audit_rows(intake, person.id)] == [
        ("cm-anna", "PUT /persons/{person_id}/interview", "allowed"),
        ("cm-anna", "GET /persons", "allowed"),
        ("cm-anna", "GET /persons/{person_id}/interview", "allowed"),
        ("cm-anna", "GET /households/{household_id}", "allowed"),
        ("coa", "GET /recognitions/{coa_registration_number}/status", "allowed"),
    ]
    assert [m["person_id"] for m in household.json()["members"]] == [str(person.id)], "the partner is not anna's"
    assert [(r.subject, r.outcome) for r in await audit_rows(intake, partner.id)] == [("cm-anna", "refused")]


async def test_a_case_manager_reaches_only_the_persons_whose_case_they_hold(intake) -> None:
    person = await intake.register()
    await intake.hold(person.id, subject="cm-anna", team="west")
    anna, bram = intake.headers("case_manager", subject="cm-anna"), intake.headers("case_manager", subject="cm-bram")
    own_lead, other_lead = intake.headers("team_lead", subject="tl-carla"), intake.headers(
        "team_lead", subject="tl-dirk", team="oost")
    unknown = uuid.uuid4()
    for method, path, body in [("PUT", "/persons/{}/interview", INTERVIEW), ("GET", "/persons/{}", None),
                               ("GET", "/persons/{}/interview", None)]:
        own = await intake.client.request(method, path.format(person.id), json=body, headers=anna)
        assert own.status_code == 200, (method, path, own.text)
        not_yours = await intake.client.request(method, path.format(person.id), json=body, headers=bram)
        missing = await intake.client.request(method, path.format(unknown), json=body, headers=bram)
        assert (not_yours.status_code, not_yours.json()) == (missing.status_code, missing.json()) == (
            404, {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no person with this id"}
        ), (method, path)
    assert (await intake.client.get(f"/persons/{person.id}", headers=own_lead)).status_code == 200
    assert (await intake.client.get(f"/persons/{person.id}", headers=other_lead)).status_code == 404
    assert (await intake.client.get(f"/recognitions/{person.coa_registration_number}/status",
                                    headers=bram)).status_code == 404
    outcomes = [(r.subject, r.outcome) for r in await audit_rows(intake, person.id) if r.subject != "cm-anna"]
    assert outcomes == [("cm-bram", "refused")] * 3 + [("tl-carla", "allowed"), ("tl-dirk", "refused"),
                                                         ("cm-bram", "refused")]
    assert [r.outcome for r in await audit_rows(intake, unknown)] == ["not_found"] * 3


async def test_a_closed_case_leaves_its_holder_out_and_its_teams_lead_in(intake) -> None:
    person = await intake.register()
    await intake.hold(person.id, subject="cm-anna", team="west", closed=True)
    assert (await intake.client.get(f"/persons/{person.id}",
                                    headers=intake.headers("case_manager", subject="cm-anna"))).status_code == 404
    assert (await intake.client.get(f"/persons/{person.id}", headers=intake.headers("team_lead"))).status_code == 200
    assert (await intake.client.get(f"/persons/{person.id}",
                                    headers=intake.headers("team_lead", team="oost"))).status_code == 404


async def test_health_and_readiness_are_open_and_ready(intake) -> None:
    assert (await intake.client.get("/healthz")).status_code == 200
    ready = await intake.client.get("/readyz")
    assert ready.status_code == 200, ready.text
