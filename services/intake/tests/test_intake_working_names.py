"""A job hunter's working names for their job seekers: intake learns who serves whom from employment's events (over
the real broker) and answers the first given name to that job hunter alone, auditing every read and refusal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from intake.audit.models import AccessAuditTable
from intake.holders.consumers import job_hunters_consumer
from intake.holders.models import ServingJobHunter
from intake.holders.service import apply_job_hunters
from intake.privacy.models import ErasedPersonTable
from intake.privacy.service import sweep_erased
from sqlalchemy import insert, select

from verbinding_common.contracts.employment import JobHunterAssigned
from verbinding_common.events import Envelope


async def give(intake, person_id: uuid.UUID, subject: str) -> None:
    """Employment gave the person to the job hunter `subject` (applied as intake's consumer would)."""
    async with intake.sessionmaker() as session, session.begin():
        await apply_job_hunters(session=session, assignments=[JobHunterAssigned(
            person_id=person_id, job_hunter_id=uuid.uuid5(uuid.NAMESPACE_URL, subject), job_hunter_subject=subject)])


async def audit_of(intake, *person_ids: uuid.UUID) -> list[tuple[str, str, str]]:
    async with intake.sessionmaker() as session:
        rows = await session.execute(select(AccessAuditTable.c.record_id, AccessAuditTable.c.subject,
                                            AccessAuditTable.c.action, AccessAuditTable.c.outcome)
                                     .where(AccessAuditTable.c.record_id.in_(person_ids))
                                     .order_by(AccessAuditTable.c.id))
    return [(str(row.record_id), row.subject, row.outcome) for row in rows
            if row.action == "GET /working-names"]


async def test_a_job_hunter_reads_the_first_given_name_of_their_own_job_seekers_only_and_every_answer_is_audited(
        intake) -> None:
    mine = await intake.register(given_names="Amal Noor", family_name="Haddad")
    theirs = await intake.register(given_names="Yonas", family_name="Tesfaye")
    unserved = await intake.register(given_names="Karim")
    unknown = uuid.uuid4()
    await give(intake, mine.id, "jh-eva")
    await give(intake, theirs.id, "jh-tom")
    response = await intake.client.get(
        "/working-names", params={"person_id": [str(p) for p in (mine.id, theirs.id, unserved.id, unknown)]},
        headers=intake.headers("job_hunter", subject="jh-eva", team=None))
    assert response.status_code == 200, response.text
    assert response.json() == [{"person_id": str(mine.id), "working_name": "Amal"}]
    assert "Haddad" not in response.text
    assert await audit_of(intake, mine.id, theirs.id, unserved.id, unknown) == [
        (str(mine.id), "jh-eva", "allowed"), (str(theirs.id), "jh-eva", "refused"),
        (str(unserved.id), "jh-eva", "refused"), (str(unknown), "jh-eva", "not_found")]


async def test_a_job_seeker_given_to_another_job_hunter_is_no_longer_named_to_the_first(intake) -> None:
    person = await intake.register(given_names="Lina")
    await give(intake, person.id, "jh-eva")
    await give(intake, person.id, "jh-tom")
    asked = {"person_id": [str(person.id)]}
    as_eva = await intake.client.get("/working-names", params=asked, headers=intake.headers("job_hunter",
                                                                                           subject="jh-eva"))
    as_tom = await intake.client.get("/working-names", params=asked, headers=intake.headers("job_hunter",
                                                                                           subject="jh-tom"))
    assert (as_eva.json(), as_tom.json()) == ([], [{"person_id": str(person.id), "working_name": "Lina"}])


async def test_a_team_lead_or_case_manager_is_not_answered_by_this_route(intake) -> None:
    person = await intake.register()
    await give(intake, person.id, "tl-carla")
    for role in ("team_lead", "case_manager"):
        response = await intake.client.get("/working-names", params={"person_id": [str(person.id)]},
                                           headers=intake.headers(role, subject="tl-carla"))
        assert response.status_code == 403


async def test_a_page_is_bounded(intake) -> None:
    too_many = {"person_id": [str(uuid.uuid4()) for _ in range(201)]}
    response = await intake.client.get("/working-names", params=too_many,
                                       headers=intake.headers("job_hunter", subject="jh-eva"))
    assert response.status_code == 422


async def test_intake_learns_who_serves_whom_from_employments_topic(intake) -> None:
    person = await intake.register(given_names="Selam")
    assigned = JobHunterAssigned(person_id=person.id, job_hunter_id=uuid.uuid4(), job_hunter_subject="jh-ada")
    envelope = Envelope(id=str(uuid.uuid4()), source="employment", type=JobHunterAssigned.event_type,
                        time=datetime.now(UTC), data=assigned.model_dump(mode="json"))
    await intake.producer.send_and_wait(JobHunterAssigned.topic, value=envelope.to_bytes(), key=str(person.id).encode())
    await intake.wait_until_processed(envelope.id)
    response = await intake.client.get("/working-names", params={"person_id": [str(person.id)]},
                                       headers=intake.headers("job_hunter", subject="jh-ada"))
    assert response.json() == [{"person_id": str(person.id), "working_name": "Selam"}]
    assert [contract.event_type for contract in job_hunters_consumer.events] == [JobHunterAssigned.event_type]


async def test_an_assignment_arriving_after_the_erasure_is_swept(intake) -> None:
    person_id = uuid.uuid4()
    async with intake.sessionmaker() as session, session.begin():
        await session.execute(insert(ErasedPersonTable).values(person_id=person_id))
    await give(intake, person_id, "jh-eva")
    async with intake.sessionmaker() as session, session.begin():
        await sweep_erased(session=session)
    async with intake.sessionmaker() as session:
        assert await session.get(ServingJobHunter, person_id) is None
