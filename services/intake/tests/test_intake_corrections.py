"""Correction at intake (GDPR Art. 16): the holder of the case or their team lead corrects a name, birth date or
languages with a reason; the correction is recorded without the old values and audited; corrected languages are
announced (ids and the new values only) for the copies in case-plan and employment."""

from __future__ import annotations

import uuid

from intake.audit.models import AccessAuditTable
from intake.privacy.models import Correction
from sqlalchemy import select

from verbinding_common.contracts.intake import PersonCorrected


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
