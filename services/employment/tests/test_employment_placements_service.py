"""Placements and retention checks: checks come due by their stored dates (month ends clamp), once each, across a
restart; overdue ones are marked; outcomes are recorded once and published."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
from employment.main import create_app
from employment.placements.service import add_months
from employment_support import learn_events, person_events
from sqlalchemy import select

from verbinding_common.db import outbox_table
from verbinding_testing.fixtures import running_app


def test_months_are_added_calendar_wise_and_a_missing_day_becomes_the_months_last() -> None:
    assert add_months(date(2024, 8, 31), 6) == date(2025, 2, 28)
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 5, 15), 24) == date(2026, 5, 15)
    assert add_months(date(2024, 7, 31), 6) == date(2025, 1, 31)


async def staff(client: httpx.AsyncClient, as_role, person_id: uuid.UUID, hunter: str) -> dict:
    """A job hunter holding the person, and an employer: what a placement needs."""
    response = await client.post("/job-hunters", headers=as_role("team_lead"), json={"subject": hunter, "name": "E"})
    assert response.status_code == 201, response.text
    assigned = await client.put(f"/job-seekers/{person_id}/job-hunter", headers=as_role("team_lead"),
                                json={"job_hunter_id": response.json()["job_hunter_id"]})
    assert assigned.status_code == 200, assigned.text
    employer = await client.post("/employers", headers=as_role("job_hunter", hunter),
                                 json={"name": "Hotel Arena", "sector": "hospitality_food"})
    assert employer.status_code == 201, employer.text
    return employer.json()


async def test_retention_checks_come_due_on_their_dates_once_each_across_a_restart_and_overdue_ones_show(
        app_settings, sessionmaker, as_role) -> None:
    person_id = uuid.uuid4()
    await learn_events(sessionmaker, person_events(person_id, recognised_on=date(2023, 1, 9)))
    # Headers made at each use: an identity lives 60 s, and three app starts on a busy machine took 73 s once.
    def eva() -> dict[str, str]:
        return as_role("job_hunter", "jh-eva")

    async with running_app(create_app(app_settings)) as client:
        employer = await staff(client, as_role, person_id, "jh-eva")
        placed = await client.post(f"/job-seekers/{person_id}/placements", headers=eva(), json={
            "employer_id": employer["employer_id"], "contract_type": "permanent", "hours_per_week": 32,
            "sector": "hospitality_food", "started_on": "2024-08-31"})
        assert placed.status_code == 201, placed.text
        assert [(c["months"], c["due_on"]) for c in placed.json()["retention_checks"]] == [
            (6, "2025-02-28"), (12, "2025-08-31"), (24, "2026-08-31")]

    async def due(client: httpx.AsyncClient, as_of: str, headers=None) -> list[tuple[int, bool]]:
        response = await client.get("/retention-checks/due", params={"as_of": as_of}, headers=headers or eva())
        assert response.status_code == 200, response.text
        return [(c["months"], c["overdue"]) for c in response.json()]

    # A new process on the same database: nothing was scheduled in memory, the rows carry the due dates.
    async with running_app(create_app(app_settings)) as client:
        assert await due(client, "2025-02-27") == []
        assert await due(client, "2025-02-28") == [(6, False)]
        assert await due(client, "2025-03-30") == [(6, False)]
        assert await due(client, "2025-03-31") == [(6, True)]
        assert await due(client, "2025-08-31") == [(6, True), (12, False)]
        assert await due(client, "2025-08-31", as_role("job_hunter", "jh-someone-else")) == []
        assert await due(client, "2025-08-31", as_role("team_lead")) == [(6, True), (12, False)]
        six = (await client.get("/retention-checks/due", params={"as_of": "2025-03-01"}, headers=eva())).json()[0]
        recorded = await client.post(f"/retention-checks/{six['retention_check_id']}/outcome", headers=eva(),
                                     json={"outcome": "same_employer"})
        assert recorded.status_code == 200, recorded.text
        again = await client.post(f"/retention-checks/{six['retention_check_id']}/outcome", headers=eva(),
                                  json={"outcome": "other_work"})
        assert again.status_code == 409

    async with running_app(create_app(app_settings)) as client:
        assert await due(client, "2026-08-31") == [(12, True), (24, False)]

    async with sessionmaker() as session:
        events = (await session.execute(select(outbox_table.c.event_type, outbox_table.c.envelope)
                                        .where(outbox_table.c.key == str(person_id),
                                               outbox_table.c.event_type.not_like("%retention-check-%due.v1"),
                                               # giving the job seeker to Eva announced that too (its own test)
                                               outbox_table.c.event_type != "employment.job-hunter-assigned.v1")
                                        .order_by(outbox_table.c.id))).all()
    # (the running app also announced the checks come due and overdue: tested on their own)
    assert [e.event_type for e in events] == ["employment.placement-started.v1", "employment.retention-checked.v1"]
    assert events[1].envelope["data"] | {"placement_id": None} == {
        "placement_id": None, "person_id": str(person_id), "months": 6, "due_on": "2025-02-28",
        "outcome": "same_employer"}


async def test_a_check_not_yet_due_takes_no_outcome_and_an_ended_placement_keeps_its_checks(
        api, sessionmaker, as_role) -> None:
    person_id = uuid.uuid4()
    await learn_events(sessionmaker, person_events(person_id))
    eva = as_role("job_hunter", "jh-eva")
    employer = await staff(api, as_role, person_id, "jh-eva")
    started_on = date.today()
    placed = (await api.post(f"/job-seekers/{person_id}/placements", headers=eva, json={
        "employer_id": employer["employer_id"], "contract_type": "fixed_term", "hours_per_week": 24,
        "sector": "hospitality_food", "started_on": started_on.isoformat(),
        "ends_on": add_months(started_on, 12).isoformat()})).json()
    first = placed["retention_checks"][0]
    early = await api.post(f"/retention-checks/{first['retention_check_id']}/outcome", headers=eva,
                           json={"outcome": "same_employer"})
    assert early.status_code == 409 and "not due before" in early.json()["detail"]
    ended = await api.post(f"/placements/{placed['placement_id']}/end", headers=eva,
                           json={"ended_on": started_on.isoformat(), "reason": "resigned"})
    assert ended.status_code == 200, ended.text
    assert (ended.json()["ended_on"], ended.json()["end_reason"]) == (started_on.isoformat(), "resigned")
    assert len(ended.json()["retention_checks"]) == 3
    twice = await api.post(f"/placements/{placed['placement_id']}/end", headers=eva,
                           json={"ended_on": started_on.isoformat(), "reason": "resigned"})
    assert twice.status_code == 409
