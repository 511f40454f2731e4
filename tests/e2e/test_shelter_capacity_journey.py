"""From a placement request to every NGO subscriber: shelter-placement, the capacity hub and the gateway on real HTTP
servers, a real broker and PostgreSQL; a webhook receiver, an SSE client and a Kafka consumer group of an NGO's own,
in one trace. The webhook and stream routes are the hub's, published by the gateway under /api/v1/capacity."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from capacity_hub.main import create_app as create_capacity_hub
from capacity_hub.settings import CapacityHubSettings
from fastapi import FastAPI, Request, Response
from gateway.main import create_app as create_gateway
from gateway.settings import GatewaySettings
from httpx_sse import aconnect_sse
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from shelter_placement.main import create_app as create_shelter_placement
from shelter_placement.settings import ShelterPlacementSettings
from standardwebhooks.webhooks import Webhook

from verbinding_common.auth import Identity, Role
from verbinding_common.contracts.shelter import ShelterCapacityChanged
from verbinding_common.events import Envelope
from verbinding_common.telemetry import setup_telemetry
from verbinding_devstack.infra.broker import EmbeddedBroker
from verbinding_testing.fixtures import create_migrated_database, eventually
from verbinding_testing.serving import serving

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
SERVICES = Path(__file__).resolve().parents[2] / "services"


async def migrated(postgres_server_url: str, service: str) -> str:
    return await create_migrated_database(postgres_server_url, f"t_{service[:5]}_{uuid.uuid4().hex[:8]}",
                                          SERVICES / service / "alembic.ini")


async def test_one_placement_reaches_webhook_sse_and_kafka_subscribers_in_one_trace(
        postgres_server_url: str, own_broker: EmbeddedBroker, identity_keys: tuple[str, str]) -> None:
    spans = InMemorySpanExporter()
    setup_telemetry(service_name="e2e", span_processor=SimpleSpanProcessor(spans))
    kafka = {"kafka_bootstrap_servers": own_broker.bootstrap_servers, "kafka_session_timeout_ms": 4_000,
             "kafka_heartbeat_interval_ms": 1_000, "relay_poll_interval_s": 0.05, "shutdown_drain_s": 1.0}
    shelter_placement = create_shelter_placement(ShelterPlacementSettings(
        environment="test", database_url=await migrated(postgres_server_url, "shelter-placement"),
        identity_public_key=identity_keys[1], **kafka))
    received: list[dict] = []
    secret: dict[str, str] = {}
    receiver = FastAPI()

    @receiver.post("/hook")
    async def hook(request: Request) -> Response:
        received.append(Webhook(secret["value"]).verify(await request.body(), dict(request.headers))["data"])
        return Response(status_code=204)

    ngo_events: list[ShelterCapacityChanged] = []
    capacity_hub = create_capacity_hub(CapacityHubSettings(
        environment="test", database_url=await migrated(postgres_server_url, "capacity-hub"),
        identity_public_key=identity_keys[1], webhook_allow_insecure_targets=True, webhook_claim_interval_s=0.1,
        capacity_feed_poll_interval_s=0.1, sse_heartbeat_s=1.0, **kafka))
    async with serving(shelter_placement, lifespan=True) as shelter_url, \
            serving(capacity_hub, lifespan=True) as hub_url, serving(receiver) as receiver_url:
        gateway = create_gateway(GatewaySettings(
            environment="test", database_url=await migrated(postgres_server_url, "gateway"),
            identity_signing_key=identity_keys[0], shelter_placement_url=shelter_url, capacity_hub_url=hub_url,
            clients=[], demo_users=[], downstream_timeout_s=15.0, **kafka))  # a deadline for a busy machine

        def token(role: Role, organisation: str) -> dict[str, str]:
            identity = Identity(subject=f"{role}-1", kind="user", roles=[role], organisation=organisation)
            return {"Authorization": f"Bearer {gateway.state.token_issuer.issue(identity)}"}

        coordinator, ngo = token(Role.programme_coordinator, "lvv"), token(Role.ngo_partner, "HVO-Querido")
        async with serving(gateway, lifespan=True) as gateway_url, \
                httpx.AsyncClient(base_url=gateway_url, timeout=20) as api:
            shelter = (await api.post("/api/v1/shelter/shelters", headers=coordinator, json={
                "name": "Shelter Oost", "neighbourhood": "Oost", "operator": "HVO-Querido", "capacity": 3})).json()
            path = f"/api/v1/shelter/shelters/{shelter['shelter_id']}"
            await api.post(f"{path}/consultation", headers=coordinator,
                           json={"held_on": "2025-02-01", "reference": "minutes Oost"})
            assert (await api.post(f"{path}/status", headers=coordinator, json={"status": "open"})).status_code == 200
            hooked = await api.post("/api/v1/capacity/webhooks", headers=ngo, json={"url": f"{receiver_url}/hook"})
            secret["value"] = hooked.json()["secret"]

            consumer = AIOKafkaConsumer(ShelterCapacityChanged.topic, bootstrap_servers=own_broker.bootstrap_servers,
                                        group_id="ngo-hvo-querido-capacity", auto_offset_reset="earliest")
            await consumer.start()
            streamed: list[dict] = []
            served_by: list[str] = []
            opened = asyncio.Event()

            async def stream() -> None:
                # The gateway checks the NGO and hands it off: the events come from the hub, not through the gateway.
                async with aconnect_sse(api, "GET", "/api/v1/capacity/stream", headers=ngo, follow_redirects=True,
                                        params={"shelter_id": shelter["shelter_id"]}, timeout=None) as source:
                    served_by.append(str(source.response.url))
                    async for sse in source.aiter_sse():
                        opened.set()  # the snapshot: what changes from now on comes as changes
                        if sse.event == "capacity":
                            streamed.append(json.loads(sse.data))

            streaming = asyncio.create_task(stream())
            try:
                await asyncio.wait_for(opened.wait(), 30)
                assert served_by[0].startswith(f"{hub_url}/stream?"), "the stream must come from the hub itself"
                registered = await api.post("/api/v1/shelter/residents", headers=ngo, json={
                    "pseudonym": "K-17", "programme": "lvv", "year_of_birth": 1987, "languages": ["ar"],
                    "vulnerability": "high"})
                assert registered.status_code == 201, registered.text
                placed = await api.post("/api/v1/shelter/placements", headers=ngo,
                                        json={"resident_id": registered.json()["resident_id"]})
                assert placed.status_code == 201 and placed.json()["status"] == "placed", placed.text
                trace_id = placed.headers["x-trace-id"]
                # Asking again names what the resident has; the NGO finds it in its own list.
                again = await api.post("/api/v1/shelter/placements", headers=ngo,
                                       json={"resident_id": registered.json()["resident_id"]})
                assert again.status_code == 409 and again.json()["existing_id"] == placed.json()["placement_id"]
                listed = await api.get("/api/v1/shelter/placements", headers=ngo, params={"status": "placed"})
                assert [p["placement_id"] for p in listed.json()] == [placed.json()["placement_id"]]

                await eventually(lambda: asyncio.sleep(0, any(c["occupied"] == 1 for c in received)),
                                 what="the webhook delivery", timeout=30)
                await eventually(lambda: asyncio.sleep(0, any(c["occupied"] == 1 for c in streamed)),
                                 what="the SSE write", timeout=30)

                async def kafka_saw_all() -> bool:
                    for records in (await consumer.getmany(timeout_ms=200)).values():
                        ngo_events.extend(ShelterCapacityChanged.model_validate(
                            Envelope.from_bytes(record.value).data) for record in records)
                    return len(ngo_events) >= 4
                await eventually(kafka_saw_all, what="the NGO's consumer group", timeout=30)
            finally:
                streaming.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await streaming
                await consumer.stop()

    assert [e.sequence for e in ngo_events] == [1, 2, 3, 4]  # planned, consulted, open, a bed taken
    assert "K-17" not in json.dumps([e.model_dump(mode="json") for e in ngo_events])

    def in_trace(name: str) -> bool:
        return any(span.name == name and format(span.context.trace_id, "032x") == trace_id
                   for span in spans.get_finished_spans())
    await eventually(lambda: asyncio.sleep(0, in_trace("webhook deliver") and in_trace("sse write")),
                     what="webhook and SSE spans in the placement's trace", timeout=10)
