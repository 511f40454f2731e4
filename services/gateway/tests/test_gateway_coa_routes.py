"""The COA push on the real database and broker: 202 once receipt and event are committed to the outbox (the relay
publishes them, also when the broker was down), deterministic event ids, all-or-nothing validation, 503 without a
database."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from gateway.coa.models import CoaReceipt
from gateway.main import create_app
from gateway_support import bearer, serving
from sqlalchemy import func, select

from verbinding_common.auth import Role
from verbinding_common.db import outbox_table
from verbinding_common.events import Envelope
from verbinding_common.kafka import new_consumer, start_with_retry
from verbinding_common.settings import ServiceSettings
from verbinding_devstack.infra.ports import free_port
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


async def outbox_count(app, topic: str) -> int:
    async with app.state.engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(outbox_table).where(outbox_table.c.topic == topic))


async def test_one_recognition_is_staged_with_its_receipt_and_published_as_a_cloudevent_with_trace_headers(
        gateway) -> None:
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
    # The record continues the request's trace, from the relay's publish span.
    assert traceparent.split("-")[1] == response.headers["x-trace-id"]
    assert envelope.traceparent.split("-")[1] == response.headers["x-trace-id"]
    assert headers["ce_id"].decode() == envelope.id
    receipt = (await receipts(app))[number]
    assert (receipt.event_id, receipt.deliveries) == (envelope.id, 1)


async def test_the_same_recognition_twice_keeps_its_event_id_counts_two_deliveries_and_is_staged_once(
        gateway) -> None:
    app, client = gateway
    sent = recognition()
    headers = bearer(app, Role.coa_integration, kind="client")
    first = await client.post(PUSH, json=sent, headers=headers)
    second = await client.post(PUSH, json=sent, headers=headers)
    in_one_batch = await client.post(PUSH, json={"recognitions": [sent, sent]}, headers=headers)
    assert first.status_code == second.status_code == in_one_batch.status_code == 202
    assert first.json()["recognitions"][0]["event_id"] == second.json()["recognitions"][0]["event_id"]
    assert {item["event_id"] for item in in_one_batch.json()["recognitions"]} == {
        first.json()["recognitions"][0]["event_id"]}
    assert await outbox_count(app, app.state.settings.coa_topic) == 1
    records = await consume(app.state.settings, app.state.settings.coa_topic, count=1)
    assert {Envelope.from_bytes(record.value).id for record in records} == {first.json()["recognitions"][0]["event_id"]}
    receipt = (await receipts(app))[sent["coa_registration_number"]]
    assert receipt.deliveries == 4 and receipt.last_received_at >= receipt.first_received_at
    later = await client.post(PUSH, json={**sent, "recognised_on": "2025-04-01"}, headers=headers)
    assert later.json()["recognitions"][0]["event_id"] != first.json()["recognitions"][0]["event_id"]
    assert await outbox_count(app, app.state.settings.coa_topic) == 2


async def test_a_batch_is_staged_whole_and_acknowledged_per_recognition(gateway) -> None:
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
    assert await outbox_count(app, app.state.settings.coa_topic) == 1


async def test_broker_down_still_answers_202_and_the_relay_publishes_once_it_is_back(make_settings,
                                                                                    own_broker) -> None:
    settings = make_settings(kafka_bootstrap_servers=own_broker.bootstrap_servers, kafka_request_timeout_ms=1_500)
    app = create_app(settings)
    async with running_app(app) as client:
        headers = bearer(app, Role.coa_integration, kind="client")
        assert (await client.post(PUSH, json=recognition(), headers=headers)).status_code == 202
        own_broker.stop()
        kept = recognition()
        response = await client.post(PUSH, json=kept, headers=headers)
        assert response.status_code == 202, response.text
        assert kept["coa_registration_number"] in await receipts(app)
        own_broker.start()  # empty: a new broker, whose topics hold nothing yet
        records = await consume(settings, settings.coa_topic, count=2, timeout=60)
    assert kept["coa_registration_number"].encode() in {record.key for record in records}


async def test_database_down_is_503_with_retry_after_and_the_connection_stays_usable(make_settings) -> None:
    # Nothing listens on the database's port: as a stopped PostgreSQL looks to the gateway.
    stopped = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/gateway"
    app = create_app(make_settings().model_copy(update={"database_url": stopped}))
    headers = bearer(app, Role.coa_integration, kind="client")
    async with running_app(app), serving(app) as base_url, httpx.AsyncClient(
            base_url=base_url, limits=httpx.Limits(max_connections=1)) as client:
        clients = set()
        for request in (client.build_request("POST", PUSH, json=recognition(), headers=headers),
                        client.build_request("POST", PUSH, json={"recognitions": [recognition()]}, headers=headers),
                        client.build_request("GET", f"{PUSH}/V-123", headers=headers),
                        client.build_request("GET", "/healthz")):
            response = await client.send(request)
            clients.add(response.extensions["network_stream"].get_extra_info("client_addr"))
            if request.url.path != "/healthz":
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
                assert response.headers.get("connection") != "close"
        assert response.status_code == 200
        assert len(clients) == 1, "every answer came over the same kept-alive connection"
