"""Status recognitions from the COA become persons in intake: once per COA number, in households, minimal events."""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from intake.persons.models import Person
from intake.persons.service import register_recognised_persons
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.contracts.intake import PersonRegistered
from verbinding_common.kafka import dlq_topic

REGISTERED = PersonRegistered.event_type


async def test_each_recognition_on_the_topic_registers_one_person_in_intake_at_their_reception_centre(
        intake) -> None:
    recognitions = [intake.recognition_data(reception_centre=f"AZC Zeeburg {i}") for i in range(3)]
    for data in recognitions:
        await intake.produce(data)

    for data in recognitions:
        person = await intake.wait_for_person(data["coa_registration_number"])
        assert person.status == "in_intake"
        assert person.reception_centre == data["reception_centre"]
        assert person.family_reunification is False
        events = await intake.outbox_events(key=person.id, event_type=REGISTERED)
        assert len(events) == 1
    households = {(await intake.person(d["coa_registration_number"])).household_id for d in recognitions}
    assert len(households) == 3, "each newcomer without a named partner gets a household of their own"


async def test_redelivered_recognition_creates_no_second_person_and_no_new_event(intake) -> None:
    data = intake.recognition_data()
    number = data["coa_registration_number"]
    first_id = await intake.produce(data)
    person = await intake.wait_for_person(number)

    # The same event again (at-least-once), then the same recognition under a new event id (produced by the COA
    # straight onto the topic), with a different reception centre: neither may change anything. Both share the
    # key, so once the second is processed the first has been too.
    await intake.produce(data, event_id=first_id)
    other_id = await intake.produce({**data, "reception_centre": "AZC Elsewhere"})
    await intake.wait_until_processed(other_id)

    async with intake.sessionmaker() as session:
        persons = (await session.scalars(select(Person).where(Person.coa_registration_number == number))).all()
    assert [p.id for p in persons] == [person.id]
    assert persons[0].reception_centre == data["reception_centre"]
    assert len(await intake.outbox_events(key=person.id, event_type=REGISTERED)) == 1


async def test_concurrent_duplicate_recognitions_register_one_person(intake) -> None:
    recognition = StatusRecognised.model_validate(intake.recognition_data())

    async def deliver() -> list[uuid.UUID]:
        async with intake.sessionmaker() as session, session.begin():
            return await register_recognised_persons(session=session, recognitions=[recognition],
                                                     pepper=intake.settings.erasure_pepper_bytes())

    results = await asyncio.gather(*(deliver() for _ in range(5)))
    registered = [person_id for ids in results for person_id in ids]
    assert len(registered) == 1
    async with intake.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(Person).where(
            Person.coa_registration_number == recognition.coa_registration_number))
    assert count == 1
    assert len(await intake.outbox_events(key=registered[0], event_type=REGISTERED)) == 1


async def test_the_database_refuses_a_second_person_with_the_same_coa_number(intake) -> None:
    person = await intake.register()
    row = {column.name: getattr(person, column.key) for column in Person.__table__.columns}
    async with intake.sessionmaker() as session:
        with pytest.raises(IntegrityError, match="uq_person_coa_registration_number"):
            async with session.begin():
                await session.execute(insert(Person).values({**row, "id": uuid.uuid4()}))


async def test_reunified_partner_joins_the_partners_household_and_gets_a_registration_of_their_own(intake) -> None:
    first = intake.recognition_data(gender="male", given_names="Karim")
    partner = intake.recognition_data(given_names="Amal", family_reunification_with=first["coa_registration_number"],
                                      recognised_on="2024-09-15")
    await intake.produce(first)
    first_person = await intake.wait_for_person(first["coa_registration_number"])
    await intake.produce(partner)
    partner_person = await intake.wait_for_person(partner["coa_registration_number"])

    assert partner_person.id != first_person.id
    assert partner_person.household_id == first_person.household_id
    assert partner_person.family_reunification is True
    assert first_person.family_reunification is False
    [event] = await intake.outbox_events(key=partner_person.id, event_type=REGISTERED)
    assert event["data"]["family_reunification"] is True
    assert event["data"]["household_id"] == str(first_person.household_id)
    assert event["data"]["recognised_on"] == "2024-09-15"


async def test_partner_recognised_after_the_reunified_person_joins_their_household(intake) -> None:
    # Out of order: the person arriving by family reunification is recognised before the partner they name.
    partner_number = intake.new_coa_number()
    reunified = await intake.register(family_reunification_with=partner_number)
    partner = await intake.register(coa_registration_number=partner_number)
    assert partner.household_id == reunified.household_id
    assert reunified.family_reunification is True
    assert partner.family_reunification is False


async def test_malformed_recognition_without_a_coa_number_goes_to_the_dlq_and_the_next_good_one_is_still_registered(
        intake) -> None:
    bad = intake.recognition_data(recognised_on="not a date")
    del bad["reception_centre"]
    bad["coa_registration_number"] = "not a number!"
    good = intake.recognition_data()
    bad_id = await intake.produce(bad)
    await intake.produce(good)

    await intake.wait_for_person(good["coa_registration_number"])
    dead = await _dead_letter_with(intake, bad_id.encode())
    headers = dict(dead.headers)
    assert headers["dlq.error_type"] == b"ContractViolation"
    assert headers["dlq.event_id"] == bad_id.encode()
    assert headers["dlq.consumer_group"] == intake.settings.service_name.encode()
    error = headers["dlq.error"].decode()
    assert "reception_centre" in error and "recognised_on" in error and "coa_registration_number" in error
    for value in (bad["family_name"], bad["given_names"], bad["coa_registration_number"], "not a date"):
        assert all(value.encode() not in header for _, header in dead.headers), "headers name fields, not values"


async def test_person_registered_carries_no_name_birth_date_or_coa_number(intake) -> None:
    data = intake.recognition_data(family_name="Uniquefamilyname", given_names="Uniquegivenname",
                                   date_of_birth="1987-12-03")
    await intake.produce(data)
    person = await intake.wait_for_person(data["coa_registration_number"])
    [envelope] = await intake.outbox_events(key=person.id, event_type=REGISTERED)

    assert set(envelope["data"]) == set(PersonRegistered.model_fields)
    assert envelope["data"] == {
        "person_id": str(person.id), "household_id": str(person.household_id), "recognised_on": "2024-03-01",
        "gender": "female", "languages": ["ar", "en"], "family_reunification": False,
    }
    stored = str(envelope)
    for secret in (data["family_name"], data["given_names"], data["date_of_birth"],
                   data["coa_registration_number"], data["reception_centre"]):
        assert secret not in stored
    assert envelope["subject"] == str(person.id)


async def _dead_letter_with(intake, marker: bytes):
    consumer = AIOKafkaConsumer(dlq_topic(StatusRecognised.topic),
                                bootstrap_servers=intake.settings.kafka_bootstrap_servers,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        async def found():
            batch = await consumer.getmany(timeout_ms=500)
            return next((r for rs in batch.values() for r in rs if marker in (r.value or b"")), None)

        return await intake.wait_for(found, what="the malformed recognition on the DLQ")
    finally:
        await consumer.stop()


async def test_a_fetch_naming_the_same_coa_number_twice_registers_one_person_announced_in_its_own_trace(
        intake) -> None:
    first = intake.recognition_data(reception_centre="AZC Zeeburg")
    other = intake.recognition_data()
    again = {**first, "reception_centre": "AZC Elsewhere"}
    items = await intake.apply_as_one_fetch(first, other, again)

    async with intake.sessionmaker() as session:
        persons = (await session.scalars(select(Person).where(Person.coa_registration_number.in_(
            [first["coa_registration_number"], other["coa_registration_number"]])))).all()
    by_number = {p.coa_registration_number: p for p in persons}
    assert len(persons) == 2
    assert by_number[first["coa_registration_number"]].reception_centre == "AZC Zeeburg"
    for data, applied in ((first, items[0]), (other, items[1])):
        [event] = await intake.outbox_events(key=by_number[data["coa_registration_number"]].id, event_type=REGISTERED)
        assert event["traceparent"] == applied.cause.traceparent, "each registration continues its recognition's trace"
        assert event["causationid"] == applied.event.id, "and names the recognition that caused it"


async def test_a_partner_and_their_reunified_partner_in_one_fetch_share_a_household_and_each_get_a_registration(
        intake) -> None:
    partner = intake.recognition_data(gender="male")
    reunified = intake.recognition_data(family_reunification_with=partner["coa_registration_number"])
    # The other way round: the reunified person comes first in the fetch, naming a partner further on.
    reunified_first = intake.recognition_data(family_reunification_with=intake.new_coa_number())
    named_later = intake.recognition_data(coa_registration_number=reunified_first["family_reunification_with"])
    alone = intake.recognition_data()
    await intake.apply_as_one_fetch(partner, reunified, reunified_first, alone, named_later)

    persons = {name: await intake.person(data["coa_registration_number"]) for name, data in (
        ("partner", partner), ("reunified", reunified), ("reunified_first", reunified_first),
        ("named_later", named_later), ("alone", alone))}
    assert persons["reunified"].household_id == persons["partner"].household_id
    assert persons["named_later"].household_id == persons["reunified_first"].household_id
    assert len({p.household_id for p in persons.values()}) == 3
    assert [name for name, p in persons.items() if p.family_reunification] == ["reunified", "reunified_first"]
    for person in persons.values():
        [event] = await intake.outbox_events(key=person.id, event_type=REGISTERED)
        assert event["data"]["household_id"] == str(person.household_id)
        assert event["data"]["family_reunification"] is person.family_reunification


async def test_a_fetch_builds_on_the_persons_registered_before_it(intake) -> None:
    partner = await intake.register()
    named_before = intake.new_coa_number()
    reunified_before = await intake.register(family_reunification_with=named_before)
    joining = intake.recognition_data(family_reunification_with=partner.coa_registration_number)
    named = intake.recognition_data(coa_registration_number=named_before)
    redelivered = intake.recognition_data(coa_registration_number=partner.coa_registration_number,
                                          reception_centre="AZC Elsewhere")
    await intake.apply_as_one_fetch(joining, named, redelivered)

    assert (await intake.person(joining["coa_registration_number"])).household_id == partner.household_id
    assert (await intake.person(named_before)).household_id == reunified_before.household_id
    known = await intake.person(partner.coa_registration_number)
    assert (known.id, known.reception_centre) == (partner.id, partner.reception_centre)
    assert len(await intake.outbox_events(key=partner.id, event_type=REGISTERED)) == 1


async def test_concurrent_fetches_with_the_same_recognitions_register_each_person_once(intake) -> None:
    partner = intake.recognition_data()
    recognitions = [partner, intake.recognition_data(family_reunification_with=partner["coa_registration_number"]),
                    *(intake.recognition_data() for _ in range(6))]

    async def fetch() -> None:
        await intake.apply_as_one_fetch(*random.sample(recognitions, len(recognitions)))

    await asyncio.gather(*(fetch() for _ in range(4)))
    persons = [await intake.person(data["coa_registration_number"]) for data in recognitions]
    assert all(person is not None for person in persons)
    for person in persons:
        assert len(await intake.outbox_events(key=person.id, event_type=REGISTERED)) == 1
    assert persons[1].household_id == persons[0].household_id
