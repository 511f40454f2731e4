"""The COA push on the real broker: 202 only after every ack, deterministic event ids, all-or-nothing validation."""

from __future__ import annotations

import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from gateway.coa.models import CoaReceipt
from gateway.main import create_app
from gateway_support import bearer
from sqlalchemy import select

from verbinding_common.auth import Role
from verbinding_common.events import Envelope
from verbinding_common.kafka import new_consumer, start_with_retry
from verbinding_common.settings import ServiceSettings
from verbinding_testing.fixtures import running_app

PUSH = "/api/v1/coa/status-recognitions"


def recognition(number: str | None = None, **changes: object) -> dict:
    values = {"coa_registration_number": number or f"V-{uuid.uuid4().hex[:10]}", "recognised_on": "2025-03-01",
              "family_name": "Haddad", "given_names": "Lina", "date_of_birth": "1990-05-01", "gender": "female",
              "country_of_origin": "SY", "languages": ["ar", "en"], "reception_centre": "AZC Amsterdam-Zuid"}
    values.update(changes)
    return values


async def consume(settings: ServiceSettings, topic: str, *, count: int, timeout: float = 30.0) -> list:
    """The first `count` records on `topic` from the beginning (fails after `timeout`)."""
    consumer: AIOKafkaConsumer = new_consumer(settings, group_id=None)
    await start_with_retry(consumer)
    consumer.subscribe([topic])
    records: list = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    assert len(records) >= count, f"found {len(records)} of {count} records on {topic}"
    return records


@pytest.fixture
async def gateway(make_settings):
    app = create_app(make_settings())
    async with running_app(app) as client:
        yield app, client


async def receipts(app) -> dict[str, CoaReceipt]:
    async with app.state.sessionmaker() as session:
        return {row.coa_registration_number: row for row in (await session.scalars(select(CoaReceipt))).all()}


async def test_one_recognition_is_produced_as_a_cloudevent_with_trace_headers_before_the_202(gateway) -> None:
    app, client = gateway
    sent = recognition()
    number = sent["coa_registration_number"]
    response = await client.post(PUSH, json=sent, headers=bearer(app, Role.coa_integration, kind="client"))
    assert response.status_code == 202, response.text
    [accepted] = response.json()["recognitions"]
    assert response.json()["accepted"] == 1
    assert accepted["status_url"] == f"/api/v1/coa/status-recognitions/{number}"

    [record] = await consume(app.state.settings, app.state.settings.coa_topic, count=1)
    assert record.key == number.encode()
    envelope = Envelope.from_bytes(record.value)
    assert (envelope.id, envelope.source, envelope.type, envelope.subject) == (
        accepted["event_id"], "gateway", "coa.status-recognised.v1", number)
    assert envelope.data["reception_centre"] == "AZC Amsterdam-Zuid"
    headers = dict(record.headers)
    traceparent = headers["traceparent"].decode()
    # The record continues the request's trace, from the gateway's own publish span.
    assert traceparent.split("-")[1] == response.headers["x-trace-id"]
    assert envelope.traceparent == traceparent
    assert headers["ce_id"].decode() == envelope.id
    receipt = (await receipts(app))[number]
    assert (receipt.event_id, receipt.deliveries) == (envelope.id, 1)


async def test_the_same_recognition_twice_keeps_its_event_id_and_counts_two_deliveries(gateway) -> None:
    app, client = gateway
    sent = recognition()
    headers = bearer(app, Role.coa_integration, kind="client")
    first = await client.post(PUSH, json=sent, headers=headers)
    second = await client.post(PUSH, json=sent, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["recognitions"][0]["event_id"] == second.json()["recognitions"][0]["event_id"]
    records = await consume(app.state.settings, app.state.settings.coa_topic, count=2)
    assert len({Envelope.from_bytes(record.value).id for record in records}) == 1
    receipt = (await receipts(app))[sent["coa_registration_number"]]
    assert receipt.deliveries == 2 and receipt.last_received_at >= receipt.first_received_at
    later = await client.post(PUSH, json={**sent, "recognised_on": "2025-04-01"}, headers=headers)
    assert later.json()["recognitions"][0]["event_id"] != first.json()["recognitions"][0]["event_id"]


async def test_a_batch_is_produced_whole_and_acknowledged_per_recognition(gateway) -> None:
    app, client = gateway
    batch = [recognition() for _ in range(25)]
    response = await client.post(PUSH, json={"recognitions": batch},
                                 headers=bearer(app, Role.coa_integration, kind="client"))
    assert response.status_code == 202, response.text
    numbers = [item["coa_registration_number"] for item in batch]
    assert response.json()["accepted"] == 25
    assert [item["coa_registration_number"] for item in response.json()["recognitions"]] == numbers
    records = await consume(app.state.settings, app.state.settings.coa_topic, count=25)
    assert sorted(record.key.decode() for record in records) == sorted(numbers)
    assert all(dict(record.headers).get("traceparent") for record in records)
    assert set(await receipts(app)) == set(numbers)


async def test_an_invalid_recognition_in_a_batch_is_422_naming_index_and_fields_and_nothing_is_sent(gateway) -> None:
    app, client = gateway
    headers = bearer(app, Role.coa_integration, kind="client")
    batch = [recognition(), recognition(), recognition(gender="unknown", date_of_birth="yesterday"), recognition()]
    del batch[3]["family_name"]
    response = await client.post(PUSH, json={"recognitions": batch}, headers=headers)
    assert response.status_code == 422
    locations = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert locations == {("body", "recognitions", 2, "gender"), ("body", "recognitions", 2, "date_of_birth"),
                         ("body", "recognitions", 3, "family_name")}
    assert "Haddad" not in response.text  # the input is not echoed back
    single = await client.post(PUSH, json=recognition(coa_registration_number="V 1/2"), headers=headers)
    assert single.status_code == 422
    assert [error["loc"] for error in single.json()["detail"]] == [["body", "coa_registration_number"]]
    too_many = await client.post(PUSH, json={"recognitions": [recognition()] * 1001}, headers=headers)
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["body", "recognitions"]
    not_json = await client.post(PUSH, content=b"{", headers={**headers, "Content-Type": "application/json"})
    assert not_json.status_code == 422

    # Nothing of the above reached the topic: the first record there is this sentinel's.
    sentinel = recognition()
    assert (await client.post(PUSH, json=sentinel, headers=headers)).status_code == 202
    [first] = await consume(app.state.settings, app.state.settings.coa_topic, count=1)
    assert first.key.decode() == sentinel["coa_registration_number"]
    assert set(await receipts(app)) == {sentinel["coa_registration_number"]}


async def test_broker_down_is_503_with_retry_after_and_no_receipt(make_settings, own_broker) -> None:
    app = create_app(make_settings(kafka_bootstrap_servers=own_broker.bootstrap_servers, coa_ack_timeout_s=2.0,
                                   kafka_request_timeout_ms=1_500))
    async with running_app(app) as client:
        headers = bearer(app, Role.coa_integration, kind="client")
        assert (await client.post(PUSH, json=recognition(), headers=headers)).status_code == 202
        own_broker.stop()
        started = time.monotonic()
        lost = recognition()
        response = await client.post(PUSH, json=lost, headers=headers)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert time.monotonic() - started < 5
        assert lost["coa_registration_number"] not in await receipts(app)
