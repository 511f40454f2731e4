"""Retention in intake: a person is erased, in every table and in the events still held, once support ended longer
ago than the retention; the erasure is announced once (ids only); late copies are swept; the access audit keeps its
own, longer retention. The clock is a parameter: nothing waits."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from intake.audit.models import AccessAuditTable
from intake.holders.models import CaseHolder
from intake.holders.service import apply_case_facts
from intake.households.models import Household
from intake.interviews.models import Consent, Interview
from intake.persons.models import Person
from intake.privacy.jobs import apply_retention
from intake.privacy.models import ErasedCoaNumber, ErasedPersonTable
from intake.privacy.tombstones import number_hash
from intake.recognitions.models import RecognitionProgress
from intake.settings import IntakeSettings
from sqlalchemy import func, insert, select

from verbinding_common.contracts.case_plan import CaseClosed
from verbinding_common.contracts.intake import PersonErased, RecognitionRejected
from verbinding_common.jobs import JobContext

ERASED = PersonErased.event_type
INTERVIEW = {"education_level": 3, "years_of_work_experience": 2, "dutch_level": "A0", "other_languages": [],
             "domains_of_need": ["work"], "consent_partners": ["Dutch Refugee Council"]}


def context(intake, **settings) -> JobContext:
    return JobContext(settings=intake.settings.model_copy(update=settings), engine=intake.app.state.engine,
                      sessionmaker=intake.sessionmaker, state=intake.app.state)


async def count(intake, model, *where) -> int:
    async with intake.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def interviewed(intake, **overrides) -> Person:
    person = await intake.register(**overrides)
    await intake.hold(person.id, subject="cm-ret")
    response = await intake.client.put(f"/persons/{person.id}/interview", json=INTERVIEW,
                                       headers=intake.headers("case_manager", subject="cm-ret"))
    assert response.status_code == 200, response.text
    return person


async def test_a_person_is_erased_everywhere_in_intake_once_support_ended_longer_ago_than_the_retention(
        intake) -> None:
    # Support ran 2020-01-10 .. 2023-01-10; with 730 days' retention the records go on 2025-01-09.
    person = await interviewed(intake, recognised_on="2020-01-10")
    number = person.coa_registration_number
    recent = await intake.register()  # recognised 2024-03-01: support runs to 2027
    assert await apply_retention(context(intake, person_retention_days=730),
                                 now=datetime(2025, 1, 8, 12, tzinfo=UTC)) == 0
    assert await intake.person(number) is not None

    assert await apply_retention(context(intake, person_retention_days=730),
                                 now=datetime(2025, 1, 9, 12, tzinfo=UTC)) == 1
    assert await intake.person(number) is None
    assert await count(intake, Interview, Interview.person_id == person.id) == 0
    assert await count(intake, Consent, Consent.person_id == person.id) == 0
    assert await count(intake, CaseHolder, CaseHolder.person_id == person.id) == 0
    assert await count(intake, RecognitionProgress, RecognitionProgress.coa_registration_number == number) == 0
    assert await count(intake, Household, Household.id == person.household_id) == 0
    assert await count(intake, ErasedPersonTable, ErasedPersonTable.c.person_id == person.id) == 1
    # The events about them still held for republication are gone; the erasure is announced, with the id only.
    [event] = await intake.outbox_events(key=person.id)
    assert event["type"] == ERASED and event["data"] == {"person_id": str(person.id)}
    assert await intake.person(recent.coa_registration_number) is not None


async def test_erasing_again_changes_nothing_and_announces_nothing(intake) -> None:
    person = await intake.register(recognised_on="2019-05-01")
    now = datetime(2024, 6, 1, tzinfo=UTC)
    assert await apply_retention(context(intake, person_retention_days=0), now=now) >= 1
    assert await apply_retention(context(intake, person_retention_days=0), now=now) == 0
    assert [event["type"] for event in await intake.outbox_events(key=person.id)] == [ERASED]


async def test_a_closed_case_ends_support_before_the_three_years(intake) -> None:
    person = await intake.register(recognised_on=date.today().isoformat())
    await intake.hold(person.id, closed=True)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert await apply_retention(context(intake, person_retention_days=30), now=tomorrow) == 0
    assert await intake.person(person.coa_registration_number) is not None
    assert await apply_retention(context(intake, person_retention_days=30),
                                 now=tomorrow + timedelta(days=30)) == 1
    assert await intake.person(person.coa_registration_number) is None


async def test_batches_erase_every_expired_person_in_one_run(intake) -> None:
    persons = [await intake.register(recognised_on="2018-02-01") for _ in range(5)]
    assert await apply_retention(context(intake, person_retention_days=0, retention_batch_size=2),
                                 now=datetime(2021, 3, 1, tzinfo=UTC)) == 5
    for person in persons:
        assert await intake.person(person.coa_registration_number) is None


async def test_a_partners_record_forgets_the_erased_persons_coa_number(intake) -> None:
    first = await intake.register(recognised_on="2017-01-01")
    partner = await intake.register(recognised_on="2024-01-01",
                                    family_reunification_with=first.coa_registration_number)
    await apply_retention(context(intake, person_retention_days=0), now=datetime(2020, 6, 1, tzinfo=UTC))
    kept = await intake.person(partner.coa_registration_number)
    assert kept is not None and kept.family_reunification_with is None and kept.family_reunification
    assert await count(intake, Household, Household.id == partner.household_id) == 1


async def test_a_case_fact_arriving_after_the_erasure_is_erased_by_the_next_run(intake) -> None:
    person = await intake.register(recognised_on="2016-01-01")
    now = datetime(2019, 6, 1, tzinfo=UTC)
    await apply_retention(context(intake, person_retention_days=0), now=now)
    async with intake.sessionmaker() as session, session.begin():
        await apply_case_facts(session=session, facts=[CaseClosed(case_id=uuid.uuid4(), person_id=person.id,
                                                                  closed_on=date(2019, 1, 1), reason="late")])
    assert await count(intake, CaseHolder, CaseHolder.person_id == person.id) == 1
    await apply_retention(context(intake, person_retention_days=0), now=now)
    assert await count(intake, CaseHolder, CaseHolder.person_id == person.id) == 0


async def test_the_access_audit_keeps_its_own_longer_retention(intake) -> None:
    old, recent = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    async with intake.sessionmaker() as session, session.begin():
        await session.execute(insert(AccessAuditTable), [
            {"at": now - timedelta(days=days), "subject": "cm", "roles": ["case_manager"], "action": "GET /persons",
             "record_kind": "person", "record_id": record_id, "outcome": "allowed"}
            for record_id, days in ((old, 1827), (recent, 1800))])
    await apply_retention(context(intake), now=now)
    assert await count(intake, AccessAuditTable, AccessAuditTable.c.record_id == old) == 0
    assert await count(intake, AccessAuditTable, AccessAuditTable.c.record_id == recent) == 1


async def test_a_recognition_sent_again_after_the_erasure_is_rejected_as_erased_and_registers_nobody(intake) -> None:
    person = await intake.register(recognised_on="2015-01-01")
    number = person.coa_registration_number
    assert await apply_retention(context(intake, person_retention_days=0), now=datetime.now(UTC)) >= 1
    # Only a keyed hash is kept: neither the number nor its plain hash is in the table.
    async with intake.sessionmaker() as session:
        kept = [bytes(row) for row in await session.scalars(select(ErasedCoaNumber.number_hash))]
    assert kept and all(number.encode() not in row and hashlib.sha256(number.encode()).digest() != row
                        for row in kept)

    await intake.apply_as_one_fetch(intake.recognition_data(coa_registration_number=number,
                                                            recognised_on="2015-01-01"))
    assert await intake.person(number) is None
    [rejected] = await intake.outbox_events(key=number, event_type=RecognitionRejected.event_type)
    assert rejected["data"] == {"coa_registration_number": number, "reason": "erased"}
    async with intake.sessionmaker() as session:
        status = await session.get_one(RecognitionProgress, number)
    assert (status.status, status.reason, status.person_id) == ("rejected", "erased", None)


async def test_once_its_period_is_over_an_erased_coa_number_is_taken_in_again(intake) -> None:
    person = await intake.register(recognised_on="2014-01-01")
    number, now = person.coa_registration_number, datetime.now(UTC)
    await apply_retention(context(intake, person_retention_days=0, erased_coa_number_days=365), now=now)
    await apply_retention(context(intake, person_retention_days=0, erased_coa_number_days=365),
                          now=now + timedelta(days=364))
    await intake.apply_as_one_fetch(intake.recognition_data(coa_registration_number=number))
    assert await intake.person(number) is None, "still within the period"

    await apply_retention(context(intake, person_retention_days=0, erased_coa_number_days=365),
                          now=now + timedelta(days=365))
    async with intake.sessionmaker() as session:
        own = number_hash(intake.settings.erasure_pepper_bytes(), number)
        assert await session.scalar(select(func.count()).where(ErasedCoaNumber.number_hash == own)) == 0
    await intake.apply_as_one_fetch(intake.recognition_data(coa_registration_number=number))
    again = await intake.person(number)
    assert again is not None and again.id != person.id


def test_in_production_the_erasure_pepper_must_be_given_and_not_the_development_one(tmp_path) -> None:
    with pytest.raises(ValueError, match="erasure_pepper is not set"):
        IntakeSettings(environment="production")
    development = IntakeSettings(environment="development").erasure_pepper_bytes()
    with pytest.raises(ValueError, match="development key"):
        IntakeSettings(environment="production", erasure_pepper=base64.b64encode(development).decode())
    with pytest.raises(ValueError, match="at least 32 bytes"):
        IntakeSettings(environment="production", erasure_pepper=base64.b64encode(b"short").decode())
    pepper = tmp_path / "pepper"
    pepper.write_text(base64.b64encode(b"\x02" * 32).decode())
    assert IntakeSettings(environment="production", erasure_pepper_file=pepper).erasure_pepper_bytes() == b"\x02" * 32
