"""employment's HTTP API: the agreed allow-lists, job hunters reaching only their own job seekers, bad input 4xx."""

from __future__ import annotations

import uuid
from datetime import date

from employment.main import create_app
from employment_support import learn_events, person_events
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import text

from verbinding_common.auth import OPEN_PATHS, Role, allowed_roles, routes_without_allow_list
from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseManagerJoined

JH, TL, CM, OPS = Role.job_hunter, Role.team_lead, Role.case_manager, Role.ops
# The agreement with the gateway: every route and who may call it.
ALLOW_LISTS = {
    ("POST", "/job-hunters"): {TL},
    ("GET", "/job-hunters"): {TL},
    ("GET", "/job-seekers"): {JH, TL},
    ("GET", "/job-seekers/{person_id}"): {JH, TL},
    ("PATCH", "/job-seekers/{person_id}"): {JH},
    ("PUT", "/job-seekers/{person_id}/job-hunter"): {TL},
    ("POST", "/job-hunters/{job_hunter_id}/job-seekers"): {TL},
    ("POST", "/employers"): {JH, TL},
    ("GET", "/employers"): {JH, TL},
    ("POST", "/vacancies"): {JH, TL},
    ("GET", "/vacancies"): {JH, TL},
    ("GET", "/vacancies/{vacancy_id}"): {JH, TL},
    ("PATCH", "/vacancies/{vacancy_id}"): {JH, TL},
    ("POST", "/vacancies/{vacancy_id}/close"): {JH, TL},
    ("GET", "/vacancies/{vacancy_id}/candidates"): {JH, TL},
    ("GET", "/vacancies/{vacancy_id}/applications"): {JH, TL},
    ("POST", "/job-seekers/{person_id}/applications"): {JH},
    ("GET", "/job-seekers/{person_id}/applications"): {JH, TL},
    ("POST", "/applications/{application_id}/steps"): {JH},
    ("GET", "/job-seekers/{person_id}/matches"): {JH, TL},
    ("POST", "/job-seekers/{person_id}/placements"): {JH},
    ("GET", "/job-seekers/{person_id}/placements"): {JH, TL},
    ("POST", "/placements/{placement_id}/end"): {JH},
    ("GET", "/retention-checks/due"): {JH, TL},
    ("POST", "/retention-checks/{retention_check_id}/outcome"): {JH},
    ("GET", "/persons/{person_id}/employment"): {CM, TL, JH},
    ("GET", "/reports/participation"): {TL, OPS},
}


def test_every_route_declares_the_agreed_allow_list(app_settings) -> None:
    app = create_app(app_settings)
    assert routes_without_allow_list(app) == []
    declared = {(method, context.path): set(allowed_roles(context) or ())
                for context in iter_route_contexts(app.routes)
                if isinstance(context.original_route, APIRoute) and context.path not in OPEN_PATHS
                for method in context.methods}
    assert declared == ALLOW_LISTS


async def test_a_job_hunter_reaches_only_their_own_job_seekers_and_others_look_like_nobody(
        api, sessionmaker, as_role) -> None:
    mine, theirs, nobody = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await learn_events(sessionmaker, person_events(mine) + person_events(theirs))
    hunters = {}
    for subject in ("jh-eva", "jh-finn"):
        response = await api.post("/job-hunters", headers=as_role("team_lead"), json={"subject": subject, "name": "x"})
        hunters[subject] = response.json()["job_hunter_id"]
    for person, subject in ((mine, "jh-eva"), (theirs, "jh-finn")):
        assert (await api.put(f"/job-seekers/{person}/job-hunter", headers=as_role("team_lead"),
                              json={"job_hunter_id": hunters[subject]})).status_code == 200
    eva = as_role("job_hunter", "jh-eva")

    assert [s["person_id"] for s in (await api.get("/job-seekers", headers=eva)).json()] == [str(mine)]
    assert (await api.get(f"/job-seekers/{mine}/matches", headers=eva)).status_code == 200
    for path in ("/job-seekers/{}", "/job-seekers/{}/matches", "/job-seekers/{}/placements",
                 "/persons/{}/employment"):
        answers = [await api.get(path.format(person), headers=eva) for person in (theirs, nobody)]
        assert [a.status_code for a in answers] == [404, 404], path
        assert answers[0].json()["detail"].replace(str(theirs), "?") == \
            answers[1].json()["detail"].replace(str(nobody), "?")
    placing = await api.post(f"/job-seekers/{theirs}/placements", headers=eva, json={
        "employer_id": str(uuid.uuid4()), "contract_type": "permanent", "hours_per_week": 32, "sector": "care",
        "started_on": "2025-01-01"})
    assert placing.status_code == 404
    # a team lead sees both
    assert len((await api.get("/job-seekers", headers=as_role("team_lead"))).json()) == 2

    async with sessionmaker() as session:
        audit = (await session.execute(text(
            "SELECT subject, action, record_id, outcome FROM access_audit WHERE subject = 'jh-eva'"))).all()
    outcomes = {(row.action, row.record_id, row.outcome) for row in audit}
    assert ("GET /job-seekers/{person_id}", theirs, "refused") in outcomes
    assert ("GET /job-seekers/{person_id}", nobody, "not_found") in outcomes
    assert ("GET /job-seekers/{person_id}/matches", mine, "allowed") in outcomes
    assert ("GET /job-seekers", mine, "allowed") in outcomes
    assert not [row for row in audit if row.record_id == theirs and row.outcome == "allowed"]


async def test_the_overviews_employment_section_is_for_the_case_manager_holding_the_open_case(
        api, sessionmaker, as_role) -> None:
    person, anna = uuid.uuid4(), uuid.uuid4()
    events = person_events(person)
    case_id = events[2].case_id
    await learn_events(sessionmaker, [*events, CaseManagerJoined(case_manager_id=anna, subject="cm-anna", team="west"),
                                      CaseManagerAssigned(case_id=case_id, person_id=person, case_manager_id=anna)])
    path = f"/persons/{person}/employment"
    holder = await api.get(path, headers=as_role("case_manager", "cm-anna"))
    assert holder.status_code == 200 and holder.json()["employed"] is False
    other = await api.get(path, headers=as_role("case_manager", "cm-bram"))
    nobody = await api.get(f"/persons/{uuid.uuid4()}/employment", headers=as_role("case_manager", "cm-bram"))
    assert (other.status_code, nobody.status_code) == (404, 404)
    assert other.json()["detail"] == f"no job seeker {person}", "answered as for nobody"
    await learn_events(sessionmaker, [CaseClosed(case_id=case_id, person_id=person, closed_on=date(2025, 6, 1),
                                                 reason="moved away")])
    assert (await api.get(path, headers=as_role("case_manager", "cm-anna"))).status_code == 404


async def test_auto_assignment_gives_the_job_seeker_to_the_job_hunter_with_the_fewest(
        api, sessionmaker, as_role) -> None:
    people = [uuid.uuid4() for _ in range(3)]
    await learn_events(sessionmaker, [e for p in people for e in person_events(p)])
    ids = [(await api.post("/job-hunters", headers=as_role("team_lead"), json={"subject": s, "name": s})).json()
           ["job_hunter_id"] for s in ("jh-a", "jh-b")]
    given = [(await api.put(f"/job-seekers/{p}/job-hunter", headers=as_role("team_lead"), json={})).json()
             ["job_hunter_id"] for p in people]
    assert given == [ids[0], ids[1], ids[0]]
    hunters = (await api.get("/job-hunters", headers=as_role("team_lead"))).json()
    loads = {h["subject"]: h["job_seekers"] for h in hunters}
    assert loads == {"jh-a": 2, "jh-b": 1}
    again = await api.post("/job-hunters", headers=as_role("team_lead"), json={"subject": "jh-a", "name": "again"})
    assert again.status_code == 409


async def test_bad_input_is_a_4xx_that_names_what_was_wrong(api, sessionmaker, as_role) -> None:
    person = uuid.uuid4()
    await learn_events(sessionmaker, person_events(person))
    tl, jh = as_role("team_lead"), as_role("job_hunter", "jh-eva")
    assert (await api.get("/job-seekers/not-a-uuid", headers=tl)).status_code == 422
    vacancy = {"employer_id": str(uuid.uuid4()), "title": "cook", "sector": "hospitality_food", "occupation": "5120",
               "education_level": 3, "dutch_level": "A2", "hours_per_week": 32, "contract_type": "permanent",
               "location": "Amsterdam", "starts_on": "2025-01-01"}
    unknown_employer = await api.post("/vacancies", headers=jh, json=vacancy)
    assert unknown_employer.status_code == 422 and "no employer" in unknown_employer.json()["detail"]
    for field, value in (("occupation", "cook"), ("education_level", 9), ("hours_per_week", 61),
                         ("dutch_level", "D1"), ("contract_type", "zero_hours"), ("sector", "mining")):
        response = await api.post("/vacancies", headers=jh, json={**vacancy, field: value})
        assert response.status_code == 422 and field in response.text, field
    assert (await api.get("/reports/participation", params={"as_of": "yesterday"}, headers=tl)).status_code == 422
    assert (await api.get("/reports/participation", headers=as_role("job_hunter"))).status_code == 403
    assert (await api.get("/job-seekers")).status_code == 401


async def test_someone_elses_placement_or_retention_check_answers_exactly_like_one_that_does_not_exist(
        api, sessionmaker, as_role) -> None:
    theirs = uuid.uuid4()
    await learn_events(sessionmaker, person_events(theirs))
    tl = as_role("team_lead")
    hunters = {}
    for subject in ("jh-eva", "jh-finn"):
        hunters[subject] = (await api.post("/job-hunters", headers=tl, json={"subject": subject, "name": "x"})
                            ).json()["job_hunter_id"]
    await api.put(f"/job-seekers/{theirs}/job-hunter", headers=tl, json={"job_hunter_id": hunters["jh-finn"]})
    finn, eva = as_role("job_hunter", "jh-finn"), as_role("job_hunter", "jh-eva")
    employer = (await api.post("/employers", headers=finn, json={"name": "Hotel", "sector": "hospitality_food"})
                ).json()["employer_id"]
    placed = await api.post(f"/job-seekers/{theirs}/placements", headers=finn, json={
        "employer_id": employer, "contract_type": "permanent", "hours_per_week": 32, "sector": "care",
        "started_on": "2024-01-01"})
    assert placed.status_code == 201, placed.text
    placement = placed.json()["placement_id"]
    check = placed.json()["retention_checks"][0]["retention_check_id"]

    for path, record, body in (("/placements/{}/end", placement, {"ended_on": "2025-01-01", "reason": "resigned"}),
                               ("/retention-checks/{}/outcome", check, {"outcome": "same_employer"})):
        nobody = str(uuid.uuid4())
        answers = [await api.post(path.format(record_id), headers=eva, json=body) for record_id in (record, nobody)]
        assert [a.status_code for a in answers] == [404, 404], path
        first, second = (a.json() for a in answers)
        assert first["detail"].replace(record, "?") == second["detail"].replace(nobody, "?"), path
        assert {k: v for k, v in first.items() if k not in ("detail", "instance")} == \
            {k: v for k, v in second.items() if k not in ("detail", "instance")}, path
        assert str(theirs) not in answers[0].text, "no foreign id in the answer"
    # the job hunter who holds the person still can
    assert (await api.post(f"/placements/{placement}/end", headers=finn,
                           json={"ended_on": "2025-01-01", "reason": "resigned"})).status_code == 200

    async with sessionmaker() as session:
        audit = {(row.record_kind, row.outcome) for row in (await session.execute(text(
            "SELECT record_kind, outcome FROM access_audit WHERE subject = 'jh-eva'"))).all()}
    assert audit == {("placement", "refused"), ("placement", "not_found"), ("retention_check", "refused"),
                     ("retention_check", "not_found")}


async def test_vacancies_are_paged_by_cursor_filtered_edited_and_closed(api, as_role) -> None:
    jh = as_role("job_hunter", "jh-eva")
    employers = [(await api.post("/employers", headers=jh, json={"name": name, "sector": "care"})).json()
                 ["employer_id"] for name in ("OLVG", "Hotel Arena")]
    base = {"title": "nurse", "sector": "care", "occupation": "2221", "education_level": 6, "dutch_level": "B1",
            "hours_per_week": 32, "contract_type": "permanent", "location": "Amsterdam", "starts_on": "2027-01-01"}
    made = []
    for n in range(7):
        body = {**base, "employer_id": employers[n % 2], "title": f"{'nurse' if n < 4 else 'cook'} {n}",
                "occupation": "2221" if n < 4 else "5120", "hours_per_week": 24 + 4 * n,
                "district": "zuidoost" if n % 3 == 0 else "west", "dutch_level": "A2" if n == 6 else "B1"}
        response = await api.post("/vacancies", headers=jh, json=body)
        assert response.status_code == 201, response.text
        made.append(response.json())
    assert made[1]["employer_name"] == "Hotel Arena" and made[0]["open"] is True

    async def walk(**params) -> list[str]:
        titles, cursor = [], None
        for _ in range(10):
            page = await api.get("/vacancies", headers=jh, params={**params, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200, page.text
            titles += [v["title"] for v in page.json()["vacancies"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return titles
        raise AssertionError("the pages never ended")

    newest_first = [f"{'nurse' if n < 4 else 'cook'} {n}" for n in reversed(range(7))]
    assert await walk(limit=3) == newest_first, "every vacancy once, newest first, across pages"
    first = (await api.get("/vacancies", headers=jh)).json()
    assert len(first["vacancies"]) == 7 and first["next_cursor"] is None, "default page size 50"
    assert (await api.get("/vacancies", headers=jh, params={"limit": 201})).status_code == 422
    assert (await api.get("/vacancies", headers=jh, params={"cursor": "not-a-cursor"})).status_code == 422

    assert await walk(q="NURSE", limit=2) == ["nurse 3", "nurse 2", "nurse 1", "nurse 0"]
    assert await walk(isco="51") == ["cook 6", "cook 5", "cook 4"]
    assert await walk(isco="2", district="zuidoost") == ["nurse 3", "nurse 0"]
    assert await walk(hours_min=30, hours_max=40) == ["cook 4", "nurse 3", "nurse 2"]
    assert await walk(dutch_level="A2") == ["cook 6"]
    assert await walk(employer_id=employers[1]) == ["cook 5", "nurse 3", "nurse 1"]
    assert await walk(q="%") == [], "wildcards are searched for, not expanded"

    edited = await api.patch(f"/vacancies/{made[0]['vacancy_id']}", headers=jh,
                             json={"title": "nurse, nights", "hours_per_week": 36})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["title"], edited.json()["hours_per_week"]) == ("nurse, nights", 36)
    assert (await api.patch(f"/vacancies/{made[0]['vacancy_id']}", headers=jh, json={"title": None})
            ).status_code == 422
    closed = await api.post(f"/vacancies/{made[0]['vacancy_id']}/close", headers=jh)
    assert closed.status_code == 200 and closed.json()["open"] is False and closed.json()["closed_on"]
    assert "nurse, nights" not in await walk()
    assert await walk(status="closed") == ["nurse, nights"]
    assert len(await walk(status="all")) == 7
    assert (await api.patch(f"/vacancies/{made[0]['vacancy_id']}", headers=jh, json={"openings": 2})
            ).status_code == 409
    assert (await api.get(f"/vacancies/{uuid.uuid4()}", headers=jh)).status_code == 404


async def test_a_team_lead_reassigns_many_job_seekers_at_once_all_or_none(api, sessionmaker, as_role) -> None:
    people = [uuid.uuid4() for _ in range(4)]
    await learn_events(sessionmaker, [e for p in people for e in person_events(p)])
    tl = as_role("team_lead")
    a, b, c = [(await api.post("/job-hunters", headers=tl, json={"subject": s, "name": s})).json()["job_hunter_id"]
               for s in ("jh-a", "jh-b", "jh-c")]
    named = await api.post(f"/job-hunters/{a}/job-seekers", headers=tl, json={"person_ids": [str(p) for p in people]})
    assert named.json() == {"job_hunter_id": a, "reassigned": 4}
    unknown = await api.post(f"/job-hunters/{b}/job-seekers", headers=tl,
                             json={"person_ids": [str(people[0]), str(uuid.uuid4())]})
    assert unknown.status_code == 404
    loads = {h["subject"]: h["job_seekers"] for h in (await api.get("/job-hunters", headers=tl)).json()}
    assert loads == {"jh-a": 4, "jh-b": 0, "jh-c": 0}, "all or none"
    leaving = await api.post(f"/job-hunters/{c}/job-seekers", headers=tl, json={"from_job_hunter_id": a})
    assert leaving.json() == {"job_hunter_id": c, "reassigned": 4}
    assert (await api.post(f"/job-hunters/{c}/job-seekers", headers=tl, json={})).status_code == 422
    assert (await api.post(f"/job-hunters/{c}/job-seekers", headers=as_role("job_hunter", "jh-c"),
                           json={"from_job_hunter_id": a})).status_code == 403


async def test_a_job_hunter_records_the_district_a_job_seeker_lives_in(api, sessionmaker, as_role) -> None:
    person = uuid.uuid4()
    await learn_events(sessionmaker, person_events(person))
    tl = as_role("team_lead")
    hunter = (await api.post("/job-hunters", headers=tl, json={"subject": "jh-eva", "name": "Eva"})).json()
    await api.put(f"/job-seekers/{person}/job-hunter", headers=tl, json={"job_hunter_id": hunter["job_hunter_id"]})
    eva = as_role("job_hunter", "jh-eva")
    moved = await api.patch(f"/job-seekers/{person}", headers=eva, json={"district": "nieuw_west"})
    assert moved.status_code == 200 and (moved.json()["district"], moved.json()["hours_wanted"]) == ("nieuw_west", 32)
    assert (await api.patch(f"/job-seekers/{person}", headers=eva, json={"district": "Slotervaart 12"})
            ).status_code == 422, "a district code, never an address"
