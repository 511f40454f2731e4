"""The recognition status intake keeps from events: rejections announced as events of their own (never a dead
letter), registrations, and case-plan's case facts; it only moves forward, poison and replays leave it alone."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

from intake.recognitions.models import RecognitionProgress
from sqlalchemy import func, select

from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseWaitlisted
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.contracts.intake import RecognitionRejected
from verbinding_common.db import processed_event_table
from verbinding_common.deadletter import replay_dead_letters
from verbinding_common.events import Envelope, EventContract, build_envelope
from verbinding_common.kafka import dlq_topic

REJECTED = RecognitionRejected.event_type


async def status_of(intake, number: str) -> dict | None:
    answer = await intake.client.get(f"/recognitions/{number}/status",
                                     headers=intake.headers("coa_integration", subject="coa"))
    assert answer.status_code in (200, 404), answer.text
    return answer.json() if answer.status_code == 200 else None


async def status_becomes(intake, number: str, status: str) -> dict:
    async def reached() -> dict | None:
        found = await status_of(intake, number)
        return found if found is not None and found["status"] == status else None

    return await intake.wait_for(reached, what=f"{number} to be {status}")


async def publish(intake, event: EventContract, *, key: str, topic: str | None = None,
                  headers: list[tuple[str, bytes]] | None = None) -> str:
    """Put an event on the real broker as its producer's relay would (or on `topic`); returns its event id."""
    envelope = build_envelope(event, source="case-plan")
    await intake.producer.send_and_wait(topic or event.topic, value=envelope.to_bytes(), key=key.encode(),
                                        headers=headers or [])
    return envelope.id


async def test_a_recognition_with_a_nul_in_a_name_is_rejected_by_an_event_with_no_personal_value_not_a_dead_letter(
        intake) -> None:
    data = intake.recognition_data(family_name="Qzrejectfam\u0000", given_names="Qzrejectgiven",
                                   date_of_birth="1933-03-03", reception_centre="AZC Qzreject")
    number = data["coa_registration_number"]
    event_id = await intake.produce(data)

    await intake.wait_until_processed(event_id)  # processed, so not dead-lettered
    status = await status_becomes(intake, number, "rejected")
    assert status["reason"] == "unstorable_text" and status["person_id"] is None
    assert await intake.person(number) is None
    [envelope] = await intake.outbox_events(key=number, event_type=REJECTED)
    assert envelope["data"] == {"coa_registration_number": number, "reason": "unstorable_text"}
    assert envelope["causationid"] == event_id
    text = json.dumps(envelope)
    for value in ("Qzrejectfam", "Qzrejectgiven", "1933-03-03", "AZC Qzreject", "Amal Noor", "2024-03-01"):
        assert value not in text, f"{value} must not leave intake in a rejection"


async def test_a_recognition_breaking_its_contract_straight_on_the_topic_is_rejected_by_its_number(intake) -> None:
    broken = {**intake.recognition_data(family_name="Qzbrokenfam"), "recognised_on": "not a date"}
    del broken["reception_centre"]
    number = broken["coa_registration_number"]
    event_id = await intake.produce(broken)

    await intake.wait_until_processed(event_id)
    status = await status_becomes(intake, number, "rejected")
    assert status["reason"] == "breaks_contract" and await intake.person(number) is None
    [envelope] = await intake.outbox_events(key=number, event_type=REJECTED)
    assert envelope["data"] == {"coa_registration_number": number, "reason": "breaks_contract"}
    assert "Qzbrokenfam" not in json.dumps(envelope) and "not a date" not in json.dumps(envelope)
    # Corrected and sent again: registered over the rejection.
    await intake.produce(intake.recognition_data(coa_registration_number=number))
    assert (await status_becomes(intake, number, "person_registered"))["reason"] is None


async def test_a_corrected_recognition_sent_again_registers_the_person_over_the_rejection(intake) -> None:
    rejected = intake.recognition_data()
    number = rejected["coa_registration_number"]
    self_partner = {**rejected, "family_reunification_with": number}
    await intake.apply_as_one_fetch(self_partner)
    assert (await status_of(intake, number))["reason"] == "partner_is_self"
    await intake.apply_as_one_fetch(rejected)
    status = await status_of(intake, number)
    person = await intake.person(number)
    assert status["status"] == "person_registered" and status["reason"] is None
    assert status["person_id"] == str(person.id)
    # A rejection arriving late changes nothing for a person already registered, and announces nothing.
    await intake.apply_as_one_fetch(self_partner)
    assert (await status_of(intake, number))["status"] == "person_registered"
    assert len(await intake.outbox_events(key=number, event_type=REJECTED)) == 1


async def test_the_status_follows_the_case_from_real_events_registered_waitlisted_assigned_closed(intake) -> None:
    data = intake.recognition_data()
    number = data["coa_registration_number"]
    await intake.produce(data)
    registered = await status_becomes(intake, number, "person_registered")
    person_id, case_id = uuid.UUID(registered["person_id"]), uuid.uuid4()
    key = str(case_id)

    await publish(intake, CaseWaitlisted(case_id=case_id, person_id=person_id, recognised_on=date(2024, 3, 1)),
                  key=key)
    assert (await status_becomes(intake, number, "waitlisted"))["case_id"] == key
    await publish(intake, CaseManagerAssigned(case_id=case_id, person_id=person_id, case_manager_id=uuid.uuid4(),
                                              from_waitlist=True), key=key)
    await status_becomes(intake, number, "case_manager_assigned")
    await publish(intake, CaseClosed(case_id=case_id, person_id=person_id, closed_on=date(2025, 1, 1),
                                     reason="moved away"), key=key)
    closed = await status_becomes(intake, number, "case_closed")
    assert closed["case_id"] == key and closed["taken_at"] == registered["taken_at"]


async def test_poison_is_dead_lettered_and_moves_no_status(intake) -> None:
    person = await intake.register()
    number = person.coa_registration_number
    await intake.producer.send_and_wait(StatusRecognised.topic, value=b"{not an envelope", key=number.encode())
    # Broken, and without a COA number to answer by: poison too.
    unreadable = {**intake.recognition_data(), "recognised_on": "not a date"}
    del unreadable["coa_registration_number"]
    envelope = Envelope(id=str(uuid.uuid4()), source="coa-test", type=StatusRecognised.event_type,
                        time=datetime.now(UTC), data=unreadable)
    await intake.producer.send_and_wait(StatusRecognised.topic, value=envelope.to_bytes(), key=number.encode())
    broken = envelope.id
    # The same key, so once this resend is processed the two before it have been dealt with.
    await intake.wait_until_processed(await intake.produce(intake.recognition_data(coa_registration_number=number)))

    assert (await status_of(intake, number))["status"] == "person_registered"
    async with intake.sessionmaker() as session:
        progress = await session.get(RecognitionProgress, number)
        ledger = await session.scalar(select(func.count()).select_from(processed_event_table).where(
            processed_event_table.c.event_id == broken))
    assert progress.reason is None and progress.updated_at == progress.taken_at
    assert ledger == 0, "dead-lettered, not processed"
    assert await intake.outbox_events(key=number, event_type=REJECTED) == []


async def test_a_replayed_dead_letter_moves_no_status_backwards(intake) -> None:
    registered = intake.recognition_data()
    number = registered["coa_registration_number"]
    await intake.produce(registered)
    person_id = uuid.UUID((await status_becomes(intake, number, "person_registered"))["person_id"])
    case_id = uuid.uuid4()
    await publish(intake, CaseManagerAssigned(case_id=case_id, person_id=person_id, case_manager_id=uuid.uuid4()),
                  key=str(case_id))
    await status_becomes(intake, number, "case_manager_assigned")

    # Two dead letters an operator replays later: the case's waitlisting and a recognition of the same number
    # that breaks a rule (as if once set aside by a bug), both long overtaken.
    dead = [("dlq.error_type", b"RuntimeError"), ("dlq.consumer_group", intake.settings.service_name.encode())]
    stale_case = await publish(intake, CaseWaitlisted(case_id=case_id, person_id=person_id,
                                                      recognised_on=date(2024, 3, 1)),
                               key=str(case_id), topic=dlq_topic(CaseWaitlisted.topic),
                               headers=[*dead, ("dlq.topic", CaseWaitlisted.topic.encode())])
    stale = StatusRecognised.model_validate({**registered, "family_reunification_with": number})
    stale_envelope = build_envelope(stale, source="coa")
    await intake.producer.send_and_wait(dlq_topic(StatusRecognised.topic), value=stale_envelope.to_bytes(),
                                        key=number.encode(),
                                        headers=[*dead, ("dlq.topic", StatusRecognised.topic.encode())])
    bootstrap = intake.settings.kafka_bootstrap_servers
    assert (await replay_dead_letters(bootstrap, CaseWaitlisted.topic, event_ids=[stale_case])).replayed
    assert (await replay_dead_letters(bootstrap, StatusRecognised.topic, event_ids=[stale_envelope.id])).replayed
    await intake.wait_until_processed(stale_case)
    await intake.wait_until_processed(stale_envelope.id)

    status = await status_of(intake, number)
    assert status["status"] == "case_manager_assigned" and status["reason"] is None
    assert await intake.outbox_events(key=number, event_type=REJECTED) == []
