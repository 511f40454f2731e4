"""Correction and access at intake, over HTTP. Correction (GDPR Art. 16): the holder of the case or their team lead
corrects a name, birth date or languages with a reason; the correction is recorded without the old values and
audited; corrected languages are announced for the copies in case-plan and employment. Access (Art. 15): a team lead
asks for a person's data; intake's part is there at once, the other services' parts when their answers arrive; the
export names and explains every field and lists its sources, holds nobody else's data, is the requester's alone,
audited at every download, and expires."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from intake.audit.models import AccessAuditTable
from intake.privacy.access import access_export
from intake.privacy.consumers import collect_answers
from intake.privacy.jobs import apply_retention
from intake.privacy.models import AccessRequest, Correction
from sqlalchemy import func, select

from verbinding_common.contracts.intake import AccessAnswered, AccessRequested, PersonCorrected
from verbinding_common.jobs import JobContext
from verbinding_testing.consuming import apply_as_consumer


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def test_a_correction_changes_the_record_keeps_why_not_the_old_value_and_announces_the_languages(intake) -> None:
    person = await intake.register(family_name="Hadad", date_of_birth="1991-07-14",
                                   languages=["ar"])
    await intake.hold(person.id, subject="cm-corr")
    response = await intake.client.post(
        f"/persons/{person.id}/corrections", headers={**intake.headers("case_manager", subject="cm-corr"), **key()},
        json={"family_name": "Haddad", "date_of_birth": "1991-04-17", "languages": ["ti", "ar", "ti"],
              "reason": "spelled wrong at the reception centre"})
    assert response.status_code == 201, response.text
    assert response.json()["corrected_fields"] == ["family_name", "date_of_birth", "languages"]
    assert response.json()["corrected_by"] == "cm-corr"

    shown = (await intake.client.get(f"/persons/{person.id}", headers=intake.headers("team_lead"))).json()
    assert (shown["family_name"], shown["date_of_birth"], shown["languages"]) == ("Haddad", "1991-04-17", ["ti", "ar"])
    async with intake.sessionmaker() as session:
        [row] = (await session.scalars(select(Correction).where(Correction.person_id == person.id))).all()
        audited = (await session.scalars(select(AccessAuditTable.c.action).where(
            AccessAuditTable.c.record_id == person.id))).all()
    stored = " ".join(str(value) for value in (row.fields, row.reason, row.corrected_by))
    assert "Hadad" not in stored and "1991-07-14" not in stored
    assert "POST /persons/{person_id}/corrections" in audited
    [event] = await intake.outbox_events(key=person.id, event_type=PersonCorrected.event_type)
    assert event["data"] == {"person_id": str(person.id), "languages": ["ti", "ar"]}


async def test_correcting_only_a_name_announces_nothing(intake) -> None:
    person = await intake.register()
    await intake.hold(person.id)
    response = await intake.client.post(f"/persons/{person.id}/corrections",
                                        headers={**intake.headers("team_lead"), **key()},
                                        json={"given_names": "Amal", "reason": "second name was not hers"})
    assert response.status_code == 201, response.text
    assert await intake.outbox_events(key=person.id, event_type=PersonCorrected.event_type) == []


async def test_a_correction_without_a_reason_or_without_anything_to_correct_is_refused(intake) -> None:
    person = await intake.register()
    await intake.hold(person.id)
    headers = {**intake.headers("case_manager"), **key()}
    for body, named in (({"family_name": "X"}, "reason"), ({"reason": "why"}, "at least one"),
                        ({"reason": "why", "languages": ["arabic"]}, "languages"),
                        ({"reason": "why", "date_of_birth": "2999-01-01"}, "future")):
        response = await intake.client.post(f"/persons/{person.id}/corrections", headers=headers, json=body)
        assert response.status_code == 422 and named in response.text, response.text


async def test_a_person_not_yours_cannot_be_corrected_and_the_attempt_is_audited(intake) -> None:
    person = await intake.register()
    await intake.hold(person.id, subject="cm-other", team="oost")
    response = await intake.client.post(f"/persons/{person.id}/corrections",
                                        headers={**intake.headers("case_manager", subject="cm-anna"), **key()},
                                        json={"family_name": "X", "reason": "why"})
    assert response.status_code == 404
    async with intake.sessionmaker() as session:
        outcomes = (await session.scalars(select(AccessAuditTable.c.outcome).where(
            AccessAuditTable.c.record_id == person.id))).all()
    assert "refused" in outcomes
    assert (await intake.person(person.coa_registration_number)).family_name != "X"


async def requested(intake, person_id: uuid.UUID, subject: str = "tl-privacy") -> dict:
    response = await intake.client.post(f"/persons/{person_id}/access-requests",
                                        headers={**intake.headers("team_lead", subject=subject), **key()})
    assert response.status_code == 201, response.text
    return response.json()


def fields_of(export: dict, service: str, table: str) -> list[dict]:
    return [row for record in export["records"] if (record["service"], record["table"]) == (service, table)
            for row in record["rows"]]


async def test_an_access_request_exports_every_field_explained_from_every_source_and_nobody_elses(intake) -> None:
    person = await intake.register(family_name="Tesfaye", given_names="Yonas")
    other = await intake.register(family_name="Someone-Else")
    for someone in (person, other):
        await intake.hold(someone.id)
    opened = await requested(intake, person.id)
    [event] = await intake.outbox_events(key=person.id, event_type=AccessRequested.event_type)
    assert event["data"] == {"request_id": opened["request_id"], "person_id": str(person.id)}

    export_path, lead = opened["export_path"], intake.headers("team_lead", subject="tl-privacy")
    first = (await intake.client.get(export_path, headers=lead)).json()
    assert (first["complete"], first["waiting_for"]) == (False, ["case-plan", "employment"])
    [row] = fields_of(first, "intake", "person")
    assert row["family_name"] == {"value": "Tesfaye", "purpose": "identifies the person to their case manager"}
    assert all(field["purpose"] for field in row.values())

    answer = {"service": "case-plan", "table": "case", "kind": "case and action plans", "legal_ground": "public task",
              "retention": "with the person", "rows": [{"status": {"value": "assigned", "purpose": "state"}}]}
    async with intake.sessionmaker() as session, session.begin():
        await apply_as_consumer(collect_answers, session, *(
            AccessAnswered(request_id=uuid.UUID(opened["request_id"]), person_id=person.id, service=service,
                           records=[{**answer, "service": service}]) for service in ("case-plan", "employment")))
    export = (await intake.client.get(export_path, headers=lead)).json()
    assert export["complete"] and export["waiting_for"] == []
    assert [source["service"] for source in export["sources"]] == ["intake", "case-plan", "employment"]
    assert fields_of(export, "case-plan", "case") == [{"status": {"value": "assigned", "purpose": "state"}}]
    assert "Someone-Else" not in str(export) and str(other.id) not in str(export)

    async with intake.sessionmaker() as session:
        downloads = await session.scalar(select(func.count()).select_from(AccessAuditTable).where(
            AccessAuditTable.c.record_kind == "access_request",
            AccessAuditTable.c.record_id == uuid.UUID(opened["request_id"]), AccessAuditTable.c.outcome == "allowed"))
    assert downloads == 2


async def test_the_export_is_the_requesters_alone_and_a_refused_download_is_audited(intake) -> None:
    person = await intake.register()
    await intake.hold(person.id)
    opened = await requested(intake, person.id, subject="tl-one")
    response = await intake.client.get(opened["export_path"], headers=intake.headers("team_lead", subject="tl-two"))
    assert response.status_code == 404
    for role in ("case_manager", "job_hunter"):
        refused = await intake.client.get(opened["export_path"], headers=intake.headers(role))
        assert refused.status_code == 403
    async with intake.sessionmaker() as session:
        outcomes = (await session.scalars(select(AccessAuditTable.c.outcome).where(
            AccessAuditTable.c.record_id == uuid.UUID(opened["request_id"])))).all()
    assert outcomes == ["not_found"]


async def test_the_export_expires_and_is_purged(intake) -> None:
    person = await intake.register()
    await intake.hold(person.id)
    opened = await requested(intake, person.id)
    request_id = uuid.UUID(opened["request_id"])
    later = datetime.now(UTC) + timedelta(days=intake.settings.access_export_days, minutes=1)
    async with intake.sessionmaker() as session:
        assert await access_export(session=session, request_id=request_id, requested_by="tl-privacy",
                                   now=later, expected_sources=()) is None
    await apply_retention(JobContext(settings=intake.settings, engine=intake.app.state.engine,
                                     sessionmaker=intake.sessionmaker, state=intake.app.state), now=later)
    async with intake.sessionmaker() as session:
        assert await session.get(AccessRequest, request_id) is None
