"""Applications between a match and a placement: proposed -> applied -> interview -> offer -> placed, or rejected or
withdrawn with a reason; each step an event of codes; pipelines per job seeker and per vacancy; the conversion per
stage in the report."""

from __future__ import annotations

import uuid
from datetime import date

from employment.monitoring.service import participation_report
from employment_support import learn_events, person_events
from sqlalchemy import select

from verbinding_common.contracts.employment import ApplicationStepped
from verbinding_common.db import outbox_table

VACANCY = {"title": "cook", "sector": "hospitality_food", "occupation": "5120", "education_level": 3,
           "dutch_level": "A2", "hours_per_week": 32, "contract_type": "permanent", "location": "Amsterdam",
           "starts_on": "2027-01-01", "openings": 3}


async def setting(api, sessionmaker, as_role, people: int) -> tuple[list[uuid.UUID], list[str], dict]:
    persons = [uuid.uuid4() for _ in range(people)]
    await learn_events(sessionmaker, [e for p in persons for e in person_events(p)])
    tl = as_role("team_lead")
    hunter = (await api.post("/job-hunters", headers=tl, json={"subject": "jh-eva", "name": "Eva"})).json()
    for person in persons:
        await api.put(f"/job-seekers/{person}/job-hunter", headers=tl, json={"job_hunter_id": hunter["job_hunter_id"]})
    eva = as_role("job_hunter", "jh-eva")
    employer = (await api.post("/employers", headers=eva, json={"name": "Hotel", "sector": "hospitality_food"})
                ).json()["employer_id"]
    vacancies = [(await api.post("/vacancies", headers=eva, json={**VACANCY, "employer_id": employer})
                  ).json()["vacancy_id"] for _ in range(2)]
    return persons, vacancies, eva


async def test_an_application_goes_through_every_stage_each_step_announced_as_codes(
        api, sessionmaker, as_role) -> None:
    [person], [vacancy, other], eva = await setting(api, sessionmaker, as_role, 1)
    proposed = await api.post(f"/job-seekers/{person}/applications", headers=eva, json={"vacancy_id": vacancy})
    assert proposed.status_code == 201, proposed.text
    application = proposed.json()["application_id"]
    assert (await api.post(f"/job-seekers/{person}/applications", headers=eva, json={"vacancy_id": vacancy})
            ).status_code == 409, "once per job seeker and vacancy"
    skipped = await api.post(f"/applications/{application}/steps", headers=eva, json={"stage": "offer"})
    assert skipped.status_code == 409 and "applied" in skipped.json()["detail"]
    for stage in ("applied", "interview", "offer", "placed"):
        step = await api.post(f"/applications/{application}/steps", headers=eva, json={"stage": stage})
        assert step.status_code == 200, step.text
        assert (step.json()["stage"], step.json()["furthest"]) == (stage, stage)
    assert (await api.post(f"/applications/{application}/steps", headers=eva,
                           json={"stage": "withdrawn", "reason": "personal"})).status_code == 409

    second = (await api.post(f"/job-seekers/{person}/applications", headers=eva, json={"vacancy_id": other})
              ).json()["application_id"]
    assert (await api.post(f"/applications/{second}/steps", headers=eva, json={"stage": "rejected"})
            ).status_code == 422, "an ending needs its reason"
    assert (await api.post(f"/applications/{second}/steps", headers=eva,
                           json={"stage": "applied", "reason": "language"})).status_code == 422
    rejected = await api.post(f"/applications/{second}/steps", headers=eva,
                              json={"stage": "rejected", "reason": "language"})
    assert rejected.status_code == 200
    assert (rejected.json()["stage"], rejected.json()["furthest"], rejected.json()["reason"]) == (
        "rejected", "proposed", "language")

    pipeline = (await api.get(f"/job-seekers/{person}/applications", headers=eva)).json()
    assert {(a["vacancy_id"], a["stage"]) for a in pipeline} == {(vacancy, "placed"), (other, "rejected")}
    by_vacancy = (await api.get(f"/vacancies/{vacancy}/applications", headers=as_role("team_lead"))).json()
    assert [(a["person_id"], a["stage"]) for a in by_vacancy] == [(str(person), "placed")]
    assert (await api.get(f"/vacancies/{vacancy}/applications", headers=as_role("job_hunter", "jh-finn"))
            ).json() == [], "another job hunter sees none of Eva's job seekers"

    async with sessionmaker() as session:
        events = [row.envelope for row in (await session.execute(
            select(outbox_table.c.envelope).where(outbox_table.c.event_type == ApplicationStepped.event_type)
            .order_by(outbox_table.c.id))).all()]
    stages = [e["data"]["stage"] for e in events]
    assert stages == ["proposed", "applied", "interview", "offer", "placed", "proposed", "rejected"]
    assert set(events[-1]["data"]) == {"application_id", "person_id", "vacancy_id", "stage", "reason", "stepped_on"}


async def test_someone_elses_application_answers_like_one_that_does_not_exist(api, sessionmaker, as_role) -> None:
    [person], [vacancy, _], eva = await setting(api, sessionmaker, as_role, 1)
    application = (await api.post(f"/job-seekers/{person}/applications", headers=eva,
                                  json={"vacancy_id": vacancy})).json()["application_id"]
    finn, nobody = as_role("job_hunter", "jh-finn"), str(uuid.uuid4())
    answers = [await api.post(f"/applications/{a}/steps", headers=finn, json={"stage": "applied"})
               for a in (application, nobody)]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json()["detail"].replace(application, "?") == answers[1].json()["detail"].replace(nobody, "?")


async def test_the_report_shows_the_conversion_per_stage_with_small_counts_hidden(
        api, sessionmaker, as_role) -> None:
    persons, [vacancy, _], eva = await setting(api, sessionmaker, as_role, 10)
    # 10 proposed, 8 applied, 5 interviews, 2 offers, 1 placed
    for depth, person in zip((4, 3, 2, 2, 2, 1, 1, 1, 0, 0), persons, strict=True):
        application = (await api.post(f"/job-seekers/{person}/applications", headers=eva,
                                      json={"vacancy_id": vacancy})).json()["application_id"]
        for stage in ("applied", "interview", "offer", "placed")[:depth]:
            assert (await api.post(f"/applications/{application}/steps", headers=eva,
                                   json={"stage": stage})).status_code == 200
    async with sessionmaker() as session:
        report = await participation_report(session=session, as_of=date.today())
        before = await participation_report(session=session, as_of=date(2020, 1, 1))
    assert [(s.stage, s.reached, s.conversion) for s in report.applications] == [
        ("proposed", 10, None), ("applied", 8, 0.8), ("interview", 5, 0.625), ("offer", None, None),
        ("placed", None, None)]
    assert [s.reached for s in before.applications] == [None] * 5
