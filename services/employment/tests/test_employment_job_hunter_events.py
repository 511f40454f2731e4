"""Every way a job seeker is given to a job hunter tells intake so (ids and the job hunter's login), in the same
transaction: intake shows a person's working name to their own job hunter alone, and knows who that is by this."""

from __future__ import annotations

import uuid

from employment_support import learn_events, person_events
from sqlalchemy import select

from verbinding_common.contracts.employment import JobHunterAssigned
from verbinding_common.db import outbox_table


async def assignments(sessionmaker) -> list[tuple[str, str, str]]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(outbox_table.c.topic, outbox_table.c.key, outbox_table.c.envelope)
                                      .where(outbox_table.c.event_type == JobHunterAssigned.event_type)
                                      .order_by(outbox_table.c.id))).all()
    assert {row.topic for row in rows} <= {"employment.job-hunters.v1"}
    found = []
    for row in rows:
        data = row.envelope["data"]
        assert set(data) == {"person_id", "job_hunter_id", "job_hunter_subject"}  # ids and a login, never a name
        assert row.key == data["person_id"]
        found.append((data["person_id"], data["job_hunter_id"], data["job_hunter_subject"]))
    return found


async def test_an_assignment_and_both_kinds_of_reassignment_announce_who_serves_whom(api, sessionmaker,
                                                                                     as_role) -> None:
    people = sorted((uuid.uuid4() for _ in range(3)), key=str)
    await learn_events(sessionmaker, [e for p in people for e in person_events(p)])
    tl = as_role("team_lead")
    a, b = [(await api.post("/job-hunters", headers=tl, json={"subject": s, "name": s})).json()["job_hunter_id"]
            for s in ("jh-a", "jh-b")]
    assert (await api.put(f"/job-seekers/{people[0]}/job-hunter", headers=tl, json={"job_hunter_id": a})
            ).status_code == 200
    assert (await api.post(f"/job-hunters/{a}/job-seekers", headers=tl,
                           json={"person_ids": [str(p) for p in people[1:]]})).json()["reassigned"] == 2
    assert (await api.post(f"/job-hunters/{b}/job-seekers", headers=tl, json={"from_job_hunter_id": a})
            ).json()["reassigned"] == 3
    refused = await api.post(f"/job-hunters/{b}/job-seekers", headers=tl,
                             json={"person_ids": [str(people[0]), str(uuid.uuid4())]})
    assert refused.status_code == 404
    ids = [str(p) for p in people]
    assert await assignments(sessionmaker) == [
        (ids[0], a, "jh-a"), (ids[1], a, "jh-a"), (ids[2], a, "jh-a"),
        (ids[0], b, "jh-b"), (ids[1], b, "jh-b"), (ids[2], b, "jh-b")], "a refused reassignment announces nothing"
