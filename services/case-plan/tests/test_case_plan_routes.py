"""case-plan's HTTP API: the paths and shapes the gateway relies on, the role allow-lists, ownership, bad input."""

from __future__ import annotations

import uuid
from datetime import date

from case_plan.audit.models import AccessAuditTable
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select

from verbinding_common.auth import OPEN_PATHS, Role, allowed_roles, routes_without_allow_list

NO_SUCH_CASE = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no case with this id"}

CM, TL, COA = Role.case_manager, Role.team_lead, Role.coa_integration
# The agreement with the gateway: every route and who may call it.
ALLOW_LISTS = {
    ("POST", "/case-managers"): {TL},
    ("GET", "/case-managers"): {TL},
    ("PATCH", "/case-managers/{case_manager_id}"): {TL},
    ("GET", "/caseload"): {CM},
    ("GET", "/case-managers/{case_manager_id}/caseload"): {TL},
    ("GET", "/cases/{case_id}"): {CM, TL},
    ("GET", "/persons/{person_id}/case"): {CM, TL, COA},
    ("POST", "/cases/{case_id}/close"): {CM, TL},
    ("GET", "/cases/{case_id}/action-plan"): {CM, TL},
    ("GET", "/cases/{case_id}/action-plan/versions"): {CM, TL},
    ("GET", "/cases/{case_id}/action-plan/versions/{version}"): {CM, TL},
    ("POST", "/cases/{case_id}/action-plan"): {CM},
    ("POST", "/cases/{case_id}/action-plan/versions/{version}/approve"): {CM, TL},
    ("GET", "/waitlist"): {TL},
}
BODIES = {
    "/case-managers": {"subject": "cm-x", "name": "X", "languages": ["nl"]},
    "/case-managers/{case_manager_id}": {"capacity": 10},
    "/cases/{case_id}/close": {"reason": "moved away"},
    "/cases/{case_id}/action-plan": {"objectives": [
        {"domain": "work", "term": "short_term", "description": "d", "target_date": "2025-01-01",
         "status": "active"}]},
}

OBJECTIVE = {"domain": "language", "term": "short_term", "description": "Dutch A2 course",
             "target_date": "2025-03-01", "status": "active"}
CASE_KEYS = {"case_id", "person_id", "status", "case_manager_id", "recognised_on", "opened_at", "support_until",
             "closed_at", "close_reason", "waitlist_position", "employment"}
PLAN_KEYS = {"case_id", "version", "objectives", "created_at", "created_by", "approved_by", "approved_at"}


def concrete(path: str) -> str:
    return path.format(case_manager_id=uuid.uuid4(), case_id=uuid.uuid4(), person_id=uuid.uuid4(), version=1)


def declared_allow_lists(app: FastAPI) -> dict[tuple[str, str], set[Role] | None]:
    """Every API route with the roles it allows. FastAPI 0.165 keeps included routers as `_IncludedRouter`
    entries in app.routes, so their routes are reached through iter_route_contexts."""
    return {(method, context.path): (None if (roles := allowed_roles(context)) is None else set(roles))
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute) and context.path not in OPEN_PATHS
            for method in context.methods}


def test_every_route_declares_the_agreed_allow_list(api) -> None:
    assert routes_without_allow_list(api.app) == []
    assert declared_allow_lists(api.app) == ALLOW_LISTS


async def test_a_wrong_role_is_forbidden_and_a_missing_identity_unauthorised(api, as_role) -> None:
    for (method, path), allowed in ALLOW_LISTS.items():
        url, body = concrete(path), BODIES.get(path)
        for role in set(Role) - allowed:
            response = await api.request(method, url, json=body, headers=as_role(role))
            assert response.status_code == 403, (method, path, role, response.text)
        response = await api.request(method, url, json=body)
        assert response.status_code == 401, (method, path)


async def test_team_lead_registers_case_managers_and_a_taken_subject_conflicts(api, as_role) -> None:
    created = await api.post("/case-managers", headers=as_role(TL),
                             json={"subject": "cm-anna", "name": "Anna de Vries", "languages": ["NL", "ar"]})
    assert created.status_code == 201
    anna = created.json()
    assert anna == {"case_manager_id": anna["case_manager_id"], "subject": "cm-anna", "name": "Anna de Vries",
                    "team": "west", "languages": ["nl", "ar"], "capacity": 50, "active_cases": 0}
    again = await api.post("/case-managers", headers=as_role(TL), json={"subject": "cm-anna", "name": "Other"})
    assert again.status_code == 409
    assert "cm-anna" in again.json()["detail"]

    listed = await api.get("/case-managers", headers=as_role(TL))
    assert listed.json() == [anna]
    changed = await api.patch(f"/case-managers/{anna['case_manager_id']}", headers=as_role(TL),
                              json={"capacity": 30})
    assert changed.status_code == 200 and changed.json()["capacity"] == 30
    assert (await api.patch(f"/case-managers/{uuid.uuid4()}", headers=as_role(TL),
                            json={"capacity": 30})).status_code == 404


async def test_a_team_lead_manages_only_their_own_teams_case_managers(api, as_role) -> None:
    created = await api.post("/case-managers", headers=as_role(TL, team="oost"), json={"subject": "cm-olga",
                                                                                       "name": "Olga"})
    assert created.status_code == 201 and created.json()["team"] == "oost"
    olga = created.json()["case_manager_id"]
    assert [m["subject"] for m in (await api.get("/case-managers", headers=as_role(TL, team="oost"))).json()] \
        == ["cm-olga"]
    assert (await api.get("/case-managers", headers=as_role(TL))).json() == []
    for method, path, body in [("PATCH", f"/case-managers/{olga}", {"capacity": 5}),
                               ("GET", f"/case-managers/{olga}/caseload", None)]:
        response = await api.request(method, path, json=body, headers=as_role(TL))
        assert response.status_code == 404, (method, path)
    teamless = await api.post("/case-managers", headers=as_role(TL, team=None), json={"subject": "cm-x", "name": "X"})
    assert teamless.status_code == 403


async def test_a_case_manager_reads_and_acts_on_only_their_own_cases(api, as_role, casework) -> None:
    anna = await casework.add_manager("cm-anna", languages=("ar",))
    bram = await casework.add_manager("cm-bram", languages=("fa",))
    annas_case = await casework.open(date(2024, 1, 10), languages=("ar",))
    brams_case = await casework.open(date(2024, 1, 11), languages=("fa",))
    assert (annas_case.case_manager_id, brams_case.case_manager_id) == (anna.id, bram.id)
    url = f"/cases/{annas_case.id}"

    own = await api.get(url, headers=as_role(CM, "cm-anna"))
    assert own.status_code == 200
    assert set(own.json()) == CASE_KEYS
    assert own.json() | {"opened_at": None} == {
        "case_id": str(annas_case.id), "person_id": str(annas_case.person_id), "status": "assigned",
        "case_manager_id": str(anna.id), "recognised_on": "2024-01-10", "opened_at": None,
        "support_until": "2027-01-10", "closed_at": None, "close_reason": None, "waitlist_position": None,
        "employment": {"employed": False, "since": None, "contract_type": None, "coaching_continues": True}}
    assert (await api.get(url, headers=as_role(TL))).status_code == 200
    for method, path, body in [("GET", url, None), ("POST", f"{url}/close", {"reason": "x"}),
                               ("GET", f"{url}/action-plan", None), ("GET", f"{url}/action-plan/versions", None),
                               ("POST", f"{url}/action-plan", {"objectives": [OBJECTIVE]}),
                               ("POST", f"{url}/action-plan/versions/1/approve", None)]:
        response = await api.request(method, path, json=body, headers=as_role(CM, "cm-bram"))
        assert response.status_code == 404, (method, path)
        assert response.json() == NO_SUCH_CASE, "not yours answers as does not exist"
    assert (await api.get(f"/cases/{uuid.uuid4()}", headers=as_role(TL))).json() == NO_SUCH_CASE

    caseload = await api.get("/caseload", headers=as_role(CM, "cm-anna"))
    assert caseload.status_code == 200
    assert caseload.json()["case_manager"]["active_cases"] == 1
    assert [c["case_id"] for c in caseload.json()["cases"]] == [str(annas_case.id)]
    brams = await api.get(f"/case-managers/{bram.id}/caseload", headers=as_role(TL))
    assert [c["case_id"] for c in brams.json()["cases"]] == [str(brams_case.id)]
    stranger = await api.get("/caseload", headers=as_role(CM, "cm-nobody"))
    assert stranger.status_code == 404 and "cm-nobody" in stranger.json()["detail"]

    by_person = await api.get(f"/persons/{annas_case.person_id}/case", headers=as_role(COA))
    assert by_person.status_code == 200 and by_person.json()["case_id"] == str(annas_case.id)
    assert (await api.get(f"/persons/{uuid.uuid4()}/case", headers=as_role(COA))).status_code == 404


async def test_action_plan_versions_and_approval_over_http(api, as_role, casework) -> None:
    await casework.add_manager("cm-anna")
    case = await casework.open()
    base = f"/cases/{case.id}/action-plan"
    anna = as_role(CM, "cm-anna")
    assert (await api.get(base, headers=anna)).status_code == 404

    first = await api.post(base, headers=anna, json={"objectives": [OBJECTIVE]})
    assert first.status_code == 201
    assert set(first.json()) == PLAN_KEYS
    assert first.json()["version"] == 1 and first.json()["created_by"] == "cm-anna"
    assert first.json()["objectives"] == [OBJECTIVE]
    work = {"domain": "work", "term": "long_term", "description": "Work experience in healthcare",
            "target_date": "2026-01-01", "status": "active"}
    second = await api.post(base, headers=anna, json={"objectives": [OBJECTIVE, work]})
    assert second.json()["version"] == 2
    assert (await api.post(base, headers=as_role(TL), json={"objectives": [OBJECTIVE]})).status_code == 403

    versions = await api.get(f"{base}/versions", headers=as_role(TL))
    assert [v["version"] for v in versions.json()] == [1, 2]
    assert (await api.get(f"{base}/versions/1", headers=anna)).json()["objectives"] == [OBJECTIVE]
    assert (await api.get(f"{base}/versions/9", headers=anna)).status_code == 404

    stale = await api.post(f"{base}/versions/1/approve", headers=anna)
    assert stale.status_code == 409 and "latest" in stale.json()["detail"]
    approved = await api.post(f"{base}/versions/2/approve", headers=as_role(TL, "tl-bert"))
    assert approved.status_code == 200
    assert approved.json()["approved_by"] == "tl-bert" and approved.json()["approved_at"] is not None
    latest = (await api.get(base, headers=anna)).json()
    assert (latest["version"], latest["approved_by"], latest["objectives"]) == (2, "tl-bert", [OBJECTIVE, work])


async def test_closing_over_http_frees_the_place_for_the_waitlist_head_and_capacity_stays_above_caseload(
        api, as_role, casework) -> None:
    anna = await casework.add_manager("cm-anna", capacity=1)
    held = await casework.open(date(2024, 1, 1))
    waiting = await casework.open(date(2024, 2, 1))
    waitlist = await api.get("/waitlist", headers=as_role(TL))
    assert waitlist.json() == [{"case_id": str(waiting.id), "person_id": str(waiting.person_id),
                                "recognised_on": "2024-02-01", "position": 1}]
    assert (await api.get(f"/cases/{waiting.id}", headers=as_role(TL))).json()["waitlist_position"] == 1

    closed = await api.post(f"/cases/{held.id}/close", headers=as_role(CM, "cm-anna"),
                            json={"reason": "moved to Utrecht"})
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["close_reason"]) == ("closed", "moved to Utrecht")
    assert closed.json()["closed_at"] is not None
    assert (await api.post(f"/cases/{held.id}/close", headers=as_role(TL), json={"reason": "x"})).status_code == 409
    assert (await api.get("/waitlist", headers=as_role(TL))).json() == []
    now_held = (await api.get(f"/cases/{waiting.id}", headers=as_role(CM, "cm-anna"))).json()
    assert (now_held["status"], now_held["case_manager_id"]) == ("assigned", str(anna.id))

    await casework.add_manager("cm-bram")
    await casework.open()
    await casework.open()
    bram = next(m for m in (await api.get("/case-managers", headers=as_role(TL))).json() if m["subject"] == "cm-bram")
    refused = await api.patch(f"/case-managers/{bram['case_manager_id']}", headers=as_role(TL), json={"capacity": 1})
    assert refused.status_code == 409
    assert "below the 2 cases" in refused.json()["detail"]


async def test_bad_input_is_refused_with_422(api, as_role, casework) -> None:
    anna = await casework.add_manager("cm-anna")
    case = await casework.open()
    lead, cm = as_role(TL), as_role(CM, "cm-anna")
    plan = f"/cases/{case.id}/action-plan"
    bad = [
        ("POST", "/case-managers", lead, {"subject": "cm-x", "name": "X", "capacity": 51}),
        ("POST", "/case-managers", lead, {"subject": "cm-x", "name": "X", "capacity": 0}),
        ("POST", "/case-managers", lead, {"subject": "cm-x"}),
        ("POST", "/case-managers", lead, {"subject": "", "name": "X"}),
        ("PATCH", f"/case-managers/{anna.id}", lead, {"capacity": 51}),
        ("PATCH", f"/case-managers/{anna.id}", lead, {}),
        ("PATCH", "/case-managers/not-a-uuid", lead, {"capacity": 5}),
        ("GET", "/cases/not-a-uuid", lead, None),
        ("POST", plan, cm, {"objectives": []}),
        ("POST", plan, cm, {}),
        ("POST", plan, cm, {"objectives": [OBJECTIVE | {"domain": "finance"}]}),
        ("POST", plan, cm, {"objectives": [OBJECTIVE | {"term": "medium_term"}]}),
        ("POST", plan, cm, {"objectives": [OBJECTIVE | {"status": "done"}]}),
        ("POST", plan, cm, {"objectives": [OBJECTIVE | {"target_date": "soon"}]}),
        ("POST", plan, cm, {"objectives": [OBJECTIVE | {"description": ""}]}),
        ("GET", f"{plan}/versions/0", cm, None),
        ("POST", f"/cases/{case.id}/close", cm, {"reason": ""}),
    ]
    for method, path, headers, body in bad:
        response = await api.request(method, path, headers=headers, json=body)
        assert response.status_code == 422, (method, path, body, response.text)


async def test_every_case_shown_and_every_refused_attempt_is_audited(api, as_role, casework) -> None:
    audit = AccessAuditTable
    await casework.add_manager("cm-anna", capacity=1)
    held, waiting = await casework.open(date(2024, 1, 1)), await casework.open(date(2024, 2, 1))
    await api.get("/caseload", headers=as_role(CM, "cm-anna"))
    await api.get("/waitlist", headers=as_role(TL, "tl-carla"))
    await api.get(f"/cases/{held.id}/action-plan/versions", headers=as_role(TL, "tl-dirk", team="oost"))
    await api.get(f"/persons/{held.person_id}/case", headers=as_role(CM, "cm-bram"))
    missing = uuid.uuid4()
    await api.get(f"/cases/{missing}", headers=as_role(TL, "tl-carla"))
    async with casework.sessionmaker() as session:
        rows = (await session.execute(select(audit.c.subject, audit.c.action, audit.c.record_kind, audit.c.record_id,
                                             audit.c.outcome, audit.c.team).order_by(audit.c.id))).all()
    assert [tuple(row) for row in rows] == [
        ("cm-anna", "GET /caseload", "case", held.id, "allowed", "west"),
        ("tl-carla", "GET /waitlist", "case", waiting.id, "allowed", "west"),
        ("tl-dirk", "GET /cases/{case_id}/action-plan/versions", "action_plan", held.id, "refused", "oost"),
        ("cm-bram", "GET /persons/{person_id}/case", "case", held.id, "refused", "west"),
        ("tl-carla", "GET /cases/{case_id}", "case", missing, "not_found", "west"),
    ]
