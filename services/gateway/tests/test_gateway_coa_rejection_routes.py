"""A recognition intake dead-lettered answers "rejected", with a reason and without its values, on the status
lookup: the gateway reads the COA topic's dead letters on the real broker."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaProducer
from gateway.main import create_app
from gateway_support import bearer, intake_stand_in, serving

from verbinding_common.auth import Role
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.events import build_envelope
from verbinding_common.kafka import dlq_topic, start_with_retry
from verbinding_testing.fixtures import KafkaServer, eventually, running_app

PUSH = "/api/v1/coa/status-recognitions"


async def test_a_dead_lettered_recognition_answers_rejected_with_a_reason_on_the_status_lookup(
        make_settings, kafka_server: KafkaServer, identity_keys) -> None:
    number = f"V-{uuid.uuid4().hex[:8].upper()}"
    recognition = {"coa_registration_number": number, "recognised_on": "2025-03-01", "family_name": "Haddad",
                   "given_names": "Lina", "date_of_birth": "1990-05-01", "gender": "female",
                   "country_of_origin": "SY", "languages": ["ar"], "reception_centre": "AZC Amsterdam-Zuid"}
    intake = intake_stand_in(identity_keys[1], persons={}, recognitions={})  # intake never registered it
    async with serving(intake) as intake_url:
        app = create_app(make_settings(intake_url=intake_url, coa_rejections_enabled=True))
        coa = bearer(app, Role.coa_integration, subject="coa", kind="client")
        async with running_app(app) as client:
            assert (await client.post(PUSH, json=recognition, headers=coa)).status_code == 202
            before = (await client.get(f"{PUSH}/{number}", headers=coa)).json()
            # What intake's consumer does with a recognition it cannot store: the record, unchanged, on <topic>.dlq.
            producer = AIOKafkaProducer(bootstrap_servers=kafka_server.bootstrap_servers)
            await start_with_retry(producer)
            try:
                envelope = build_envelope(StatusRecognised.model_validate(recognition), source="coa")
                await producer.send_and_wait(dlq_topic(app.state.settings.coa_topic), value=envelope.to_bytes(),
                                             key=number.encode(),
                                             headers=[("dlq.error_type", b"DataError"),
                                                      ("dlq.error", b"DataError (SQLSTATE 22021)")])
            finally:
                await producer.stop()

            async def rejected() -> dict | None:
                status = (await client.get(f"{PUSH}/{number}", headers=coa)).json()
                return status if status["status"] == "rejected" else None

            status = await eventually(rejected, timeout=40, what="the status lookup to say rejected")
    assert before["status"] == "received"
    assert "intake could not take this recognition in" in status["reason"] and "22021" in status["reason"]
    assert "Haddad" not in str(status) and status["received_at"]
