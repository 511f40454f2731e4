"""shelter-placement's HTTP API: the life cycle through routes, and who sees which shelter, resident, placement."""

from __future__ import annotations

import uuid

import httpx
import pytest
from shelter_support import DOOR, HVO
from sqlalchemy import text

from verbinding_common.auth import routes_without_allow_list
from verbinding_common.contracts.shelter import ShelterCapacityChanged
from verbinding_common.db import outbox_table

NGO, PC = "ngo_partner", "programme_coordinator"


async def _open_shelter(api: httpx.AsyncClient, as_caller, *, operator: str, capacity: int = 5) -> dict:
    lvv = as_caller(PC, "lvv")
    created = await api.post("/shelters", json={"name": f"Shelter {operator}", "neighbourhood": "Oost",
                                                "operator": operator, "capacity": capacity}, headers=lvv)
    assert created.status_code == 201, created.text
    shelter_id = created.json()["shelter_id"]
    too_early = await api.post(f"/shelters/{shelter_id}/status", json={"status": "open"}, headers=lvv)
    assert too_early.status_code == 409 and "consultation" in too_early.json()["detail"]
    assert too_early.json()["current_status"] == "planned"
    consulted = await api.post(f"/shelters/{shelter_id}/consultation",
                               json={"held_on": "2025-02-01", "reference": "minutes Oost 2025-02"}, headers=lvv)
    assert consulted.json()["status"] == "consulted"
    opened = await api.post(f"/shelters/{shelter_id}/status", json={"status": "open"}, headers=lvv)
    assert opened.json()["status"] == "open"
    return opened.json()


async def _placed_resident(api: httpx.AsyncClient, as_caller, *, operator: str) -> tuple[str, str]:
    ngo = as_caller(NGO, operator)
    resident = await api.post("/residents", json={"pseudonym": f"K-{uuid.uuid4().hex[:6]}", "programme": "lvv",
                                                  "year_of_birth": 1988, "languages": ["ti"],
                                                  "vulnerability": "high"}, headers=ngo)
    assert resident.status_code == 201, resident.text
    placement = await api.post("/placements", json={"resident_id": resident.json()["resident_id"]}, headers=ngo)
    assert placement.json()["status"] == "placed"
    return resident.json()["resident_id"], placement.json()["placement_id"]


def test_every_route_declares_an_allow_list(api) -> None:
    assert routes_without_allow_list(api.app) == []


async def test_visibility_matrix_other_ngos_and_programmes_get_the_answer_of_a_record_that_does_not_exist(
        api: httpx.AsyncClient, as_caller) -> None:
    shelter = await _open_shelter(api, as_caller, operator=HVO)
    resident_id, placement_id = await _placed_resident(api, as_caller, operator=HVO)
    paths = {"shelter": f"/shelters/{shelter['shelter_id']}", "resident": f"/residents/{resident_id}",
             "placement": f"/placements/{placement_id}"}
    missing = {"shelter": f"/shelters/{uuid.uuid4()}", "resident": f"/residents/{uuid.uuid4()}",
               "placement": f"/placements/{uuid.uuid4()}"}
    callers = {
        "operator NGO": (as_caller(NGO, HVO), 200),
        "lvv coordinator": (as_caller(PC, "lvv"), 200),
        "another NGO": (as_caller(NGO, DOOR), 404),
        "dublin coordinator": (as_caller(PC, "dublin"), 404),
        "case manager": (as_caller("case_manager"), 403),
        "no identity": ({}, 401),
    }
    for who, (headers, expected) in callers.items():
        for kind, path in paths.items():
            answer = await api.get(path, headers=headers)
            assert answer.status_code == expected, (who, kind, answer.text)
            if expected == 404:
                absent = await api.get(missing[kind], headers=headers)
                assert absent.status_code == 404
                assert answer.json()["detail"].split(" ")[:2] == absent.json()["detail"].split(" ")[:2]
        listed = await api.get("/shelters", headers=headers)
        if expected == 200:
            assert [s["shelter_id"] for s in listed.json()] == [shelter["shelter_id"]]
        elif expected == 404:
            assert listed.json() == []
    resident = (await api.get(paths["resident"], headers=as_caller(NGO, HVO))).json()
    assert set(resident) == {"resident_id", "pseudonym", "operator", "programme", "year_of_birth", "languages",
                             "vulnerability"}
    leave_other = await api.post(f"{paths['placement']}/leave", json={"outcome": "return"},
                                 headers=as_caller(NGO, DOOR))
    assert leave_other.status_code == 404
    async with api.app.state.sessionmaker() as session:
        audited = (await session.execute(text(
            "SELECT subject, record_kind, outcome, action FROM access_audit WHERE record_id = :id ORDER BY id"),
            {"id": uuid.UUID(resident_id)})).all()
    assert ("tester", "resident", "allowed", "GET /residents/{resident_id}") in audited
    assert ("tester", "resident", "refused", "GET /residents/{resident_id}") in audited
    assert not any(resident_id in row.action for row in audited)


async def test_an_ngo_cannot_register_residents_for_another_operator(api: httpx.AsyncClient, as_caller) -> None:
    answer = await api.post("/residents", json={"pseudonym": "X1", "programme": "lvv", "operator": HVO,
                                                "year_of_birth": 1990, "vulnerability": "standard"},
                            headers=as_caller(NGO, DOOR))
    assert answer.status_code == 403


async def test_capacity_never_drops_below_occupancy(api: httpx.AsyncClient, as_caller) -> None:
    shelter = await _open_shelter(api, as_caller, operator=HVO, capacity=2)
    await _placed_resident(api, as_caller, operator=HVO)
    await _placed_resident(api, as_caller, operator=HVO)
    lower = await api.patch(f"/shelters/{shelter['shelter_id']}", json={"capacity": 1},
                            headers=as_caller(PC, "lvv"))
    assert lower.status_code == 409 and lower.json()["occupied"] == 2
    close = await api.post(f"/shelters/{shelter['shelter_id']}/status", json={"status": "closing"},
                           headers=as_caller(PC, "lvv"))
    assert (close.json()["status"], close.json()["available"]) == ("closing", 0)


@pytest.mark.parametrize("body", [
    {"pseudonym": "a\x00b", "programme": "lvv", "year_of_birth": 1990, "vulnerability": "standard"},
    {"pseudonym": "ok", "programme": "lvv", "year_of_birth": 32768, "vulnerability": "standard"},
    {"pseudonym": "ok", "programme": "mars", "year_of_birth": 1990, "vulnerability": "standard"},
    {"pseudonym": "ok", "programme": "lvv", "year_of_birth": 1990, "vulnerability": "standard",
     "coa_number": "V-1"},
])
async def test_bad_resident_input_is_a_422(api: httpx.AsyncClient, as_caller, body: dict) -> None:
    answer = await api.post("/residents", json=body, headers=as_caller(NGO, HVO))
    assert answer.status_code == 422


async def test_case_manager_assignment_is_reported_per_shelter(api: httpx.AsyncClient, as_caller) -> None:
    shelter = await _open_shelter(api, as_caller, operator=HVO)
    _, first = await _placed_resident(api, as_caller, operator=HVO)
    await _placed_resident(api, as_caller, operator=HVO)
    assigned = await api.post(f"/placements/{first}/case-manager", json={"case_manager": "pm-eva"},
                              headers=as_caller(PC, "lvv"))
    assert assigned.json()["case_manager"] == "pm-eva"
    report = (await api.get("/reports/case-manager-assignment", headers=as_caller(NGO, HVO))).json()
    assert [(r["shelter_id"], r["assigned"], r["waiting_now"]) for r in report] == [(shelter["shelter_id"], 1, 1)]
    assert report[0]["median_hours"] is not None and report[0]["longest_waiting_hours"] is not None
    assert (await api.get("/reports/case-manager-assignment", headers=as_caller(NGO, DOOR))).json() == []


async def test_capacity_events_carry_figures_and_no_personal_data(api: httpx.AsyncClient, as_caller) -> None:
    await _open_shelter(api, as_caller, operator=HVO)
    await _placed_resident(api, as_caller, operator=HVO)
    async with api.app.state.sessionmaker() as session:
        rows = (await session.execute(outbox_table.select().where(
            outbox_table.c.event_type == ShelterCapacityChanged.event_type).order_by(outbox_table.c.id))).all()
    last = rows[-1].envelope["data"]
    assert set(last) == set(ShelterCapacityChanged.model_fields)
    assert (last["capacity"], last["occupied"], last["available"], last["sequence"]) == (5, 1, 4, 4)
    assert not any("K-" in str(row.envelope) for row in rows)


async def _resident(api: httpx.AsyncClient, as_caller, *, operator: str = HVO, vulnerability: str = "standard") -> str:
    answer = await api.post("/residents", json={"pseudonym": f"W-{uuid.uuid4().hex[:6]}", "programme": "lvv",
                                                "year_of_birth": 1990, "vulnerability": vulnerability},
                            headers=as_caller(NGO, operator))
    assert answer.status_code == 201, answer.text
    return answer.json()["resident_id"]


async def test_a_second_request_for_a_resident_is_a_409_naming_the_placement_they_have(
        api: httpx.AsyncClient, as_caller) -> None:
    await _open_shelter(api, as_caller, operator=HVO, capacity=1)
    resident_id, placement_id = await _placed_resident(api, as_caller, operator=HVO)
    waiting_resident = await _resident(api, as_caller)
    waiting = (await api.post("/placements", json={"resident_id": waiting_resident},
                              headers=as_caller(NGO, HVO))).json()

    for resident, existing in ((resident_id, placement_id), (waiting_resident, waiting["placement_id"])):
        again = await api.post("/placements", json={"resident_id": resident}, headers=as_caller(NGO, HVO))
        assert again.status_code == 409
        assert again.json()["existing_id"] == existing
        assert again.headers["location"] == f"placements/{existing}"
        assert (await api.get(f"/{again.headers['location']}", headers=as_caller(NGO, HVO))).status_code == 200


async def test_a_taken_pseudonym_is_a_409_naming_the_resident_only_to_who_may_see_them(
        api: httpx.AsyncClient, as_caller) -> None:
    body = {"pseudonym": "Z-1", "programme": "lvv", "year_of_birth": 1990, "vulnerability": "standard"}
    first = await api.post("/residents", json=body, headers=as_caller(NGO, HVO))
    again = await api.post("/residents", json=body, headers=as_caller(NGO, HVO))
    assert again.status_code == 409 and again.json()["existing_id"] == first.json()["resident_id"]
    assert again.headers["location"] == f"residents/{first.json()['resident_id']}"
    dublin = await api.post("/residents", json={**body, "programme": "dublin", "operator": HVO},
                            headers=as_caller(PC, "dublin"))
    assert dublin.status_code == 409 and "existing_id" not in dublin.json() and "location" not in dublin.headers


async def test_withdrawing_through_the_routes_only_a_waiting_request_and_only_ones_own(
        api: httpx.AsyncClient, as_caller) -> None:
    await _open_shelter(api, as_caller, operator=HVO, capacity=1)
    _, placed = await _placed_resident(api, as_caller, operator=HVO)
    waiting = [(await api.post("/placements", json={"resident_id": await _resident(api, as_caller)},
                               headers=as_caller(NGO, HVO))).json() for _ in range(2)]
    assert [w["waitlist_position"] for w in waiting] == [1, 2]

    other = await api.post(f"/placements/{waiting[0]['placement_id']}/withdraw", headers=as_caller(NGO, DOOR))
    assert other.status_code == 404
    withdrawn = await api.post(f"/placements/{waiting[0]['placement_id']}/withdraw", headers=as_caller(NGO, HVO))
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn" and withdrawn.json()["withdrawn_at"]
    moved_up = await api.get(f"/placements/{waiting[1]['placement_id']}", headers=as_caller(PC, "lvv"))
    assert moved_up.json()["waitlist_position"] == 1
    refused = await api.post(f"/placements/{placed}/withdraw", headers=as_caller(NGO, HVO))
    assert refused.status_code == 409
    assert refused.json()["current_status"] == "placed" and "leaves instead" in refused.json()["detail"]
    leave_waiting = await api.post(f"/placements/{waiting[1]['placement_id']}/leave", json={"outcome": "other"},
                                   headers=as_caller(NGO, HVO))
    assert leave_waiting.status_code == 409 and leave_waiting.json()["current_status"] == "waitlisted"
    twice = await api.post(f"/placements/{waiting[0]['placement_id']}/withdraw", headers=as_caller(NGO, HVO))
    assert twice.status_code == 409 and twice.json()["current_status"] == "withdrawn"


async def test_placements_are_listed_to_their_operator_and_programme_filtered_and_paged(
        api: httpx.AsyncClient, as_caller) -> None:
    shelter = await _open_shelter(api, as_caller, operator=HVO, capacity=1)
    _, placed = await _placed_resident(api, as_caller, operator=HVO)
    waiting = [(await api.post("/placements", json={"resident_id": await _resident(api, as_caller)},
                               headers=as_caller(NGO, HVO))).json()["placement_id"] for _ in range(3)]
    await _open_shelter(api, as_caller, operator=DOOR, capacity=1)
    _, theirs = await _placed_resident(api, as_caller, operator=DOOR)

    def ids(answer: httpx.Response) -> list[str]:
        assert answer.status_code == 200, answer.text
        return [p["placement_id"] for p in answer.json()]

    hvo = as_caller(NGO, HVO)
    assert ids(await api.get("/placements", headers=hvo)) == [placed, *waiting]
    assert ids(await api.get("/placements", headers=as_caller(NGO, DOOR))) == [theirs]
    assert ids(await api.get("/placements", headers=as_caller(PC, "lvv"))) == [placed, *waiting, theirs]
    assert ids(await api.get("/placements", headers=as_caller(PC, "dublin"))) == []
    listed = (await api.get("/placements", params={"status": "waitlisted"}, headers=hvo)).json()
    assert [(p["placement_id"], p["waitlist_position"]) for p in listed] == [(w, n + 1) for n, w in enumerate(waiting)]
    assert ids(await api.get("/placements", params={"shelter_id": shelter["shelter_id"]}, headers=hvo)) == [placed]
    assert ids(await api.get("/placements", params={"limit": 2, "offset": 1}, headers=hvo)) == waiting[:2]
    assert (await api.get("/placements", params={"limit": 0}, headers=hvo)).status_code == 422
    assert (await api.get("/placements", params={"status": "lost"}, headers=hvo)).status_code == 422
    assert (await api.get("/placements", headers=as_caller("case_manager"))).status_code == 403


async def test_residents_are_listed_to_their_operator_and_programme_only(api: httpx.AsyncClient, as_caller) -> None:
    ours = [await _resident(api, as_caller) for _ in range(2)]
    theirs = (await api.post("/residents", json={"pseudonym": f"D-{uuid.uuid4().hex[:6]}", "programme": "lvv",
                                                 "year_of_birth": 1990, "languages": [], "vulnerability": "standard"},
                             headers=as_caller(NGO, DOOR))).json()["resident_id"]

    def ids(answer: httpx.Response) -> set[str]:
        assert answer.status_code == 200, answer.text
        return {resident["resident_id"] for resident in answer.json()}

    assert set(ours) <= ids(await api.get("/residents", headers=as_caller(NGO, HVO)))
    assert theirs not in ids(await api.get("/residents", headers=as_caller(NGO, HVO)))
    assert {*ours, theirs} <= ids(await api.get("/residents", headers=as_caller(PC, "lvv")))
    assert ids(await api.get("/residents", headers=as_caller(PC, "dublin"))) == set()
    assert len(ids(await api.get("/residents", params={"limit": 1}, headers=as_caller(NGO, HVO)))) == 1
    assert (await api.get("/residents", headers=as_caller("case_manager"))).status_code == 403
