"""With the real intake service: a COA push through the gateway becomes a person, one trace from gateway to intake.

Intake runs in-process (its lifespan: relay and consumer) and serves HTTP on a real port; its database, the
gateway's and the broker are real. Case-plan is not running here, so its sections are unavailable.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from gateway.main import create_app
from gateway_support import bearer, closed_port_url, serving
from intake import main as intake_main
from intake import settings as intake_settings
from sqlalchemy import select

from verbinding_common.auth import Role
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.db import create_engine, outbox_table
from verbinding_testing.fixtures import create_migrated_database, drop_database, eventually, running_app

INTAKE_DIR = Path(__file__).resolve().parents[2] / "intake"

PUSH = "/api/v1/coa/status-recognitions"


@pytest.fixture
async def intake_url(postgres_server_url, kafka_server, identity_keys):
    """The real intake app: migrated database of its own, a consumer group of its own, HTTP on a free port."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = await create_migrated_database(postgres_server_url, name, INTAKE_DIR / "alembic.ini")
    settings = intake_settings.IntakeSettings(
        environment="test", service_name=f"intake-{uuid.uuid4().hex[:6]}", database_url=url,
        kafka_bootstrap_servers=kafka_server.bootstrap_servers, identity_public_key=identity_keys[1],
        kafka_session_timeout_ms=4_000, kafka_heartbeat_interval_ms=1_000, relay_poll_interval_s=0.05)
    app = intake_main.create_app(settings)
    try:
        async with running_app(app), serving(app) as base_url:
            yield base_url, url
    finally:
        await drop_database(postgres_server_url, name)


async def test_a_pushed_recognition_becomes_a_person_in_intake_within_the_same_trace(make_settings,
                                                                                      intake_url) -> None:
    base_url, intake_database = intake_url
    app = create_app(make_settings(intake_url=base_url, case_plan_url=closed_port_url(),
                                   coa_topic=StatusRecognised.topic))
    number = f"V-{uuid.uuid4().hex[:10].upper()}"
    sent = {"coa_registration_number": number, "recognised_on": "2025-03-01", "family_name": "Haddad",
            "given_names": "Lina", "date_of_birth": "1990-05-01", "gender": "female", "country_of_origin": "SY",
            "languages": ["ar", "en"], "reception_centre": "AZC Amsterdam-Zuid"}
    async with running_app(app) as client:
        coa = bearer(app, Role.coa_integration, subject="coa", kind="client")
        pushed = await client.post(PUSH, json=sent, headers=coa)
        assert pushed.status_code == 202, pushed.text
        async def registered() -> dict | None:
            status = (await client.get(f"{PUSH}/{number}", headers=coa)).json()
            return status if status["status"] != "received" else None

        status = await eventually(registered, timeout=40, what="intake to register the person")
        assert status["status"] == "person_registered", status
        assert status["unavailable"] == [], "the status is intake's projection: case-plan is not asked"
        overview = await client.get(f"/api/v1/persons/{status['person_id']}/overview",
                                    headers=bearer(app, Role.team_lead, subject="tl-carla"))
    assert overview.status_code == 200, overview.text
    body = overview.json()
    assert body["person"]["coa_registration_number"] == number
    assert body["person"]["reception_centre"] == "AZC Amsterdam-Zuid"
    assert body["case"]["unavailable"] is True

    # Intake's PersonRegistered (its outbox row) continues the trace of the gateway's request.
    engine = create_engine(intake_database)
    try:
        async with engine.connect() as conn:
            traceparents = (await conn.scalars(select(outbox_table.c.traceparent)
                                               .where(outbox_table.c.key == status["person_id"]))).all()
    finally:
        await engine.dispose()
    assert traceparents and {tp.split("-")[1] for tp in traceparents} == {pushed.headers["x-trace-id"]}
