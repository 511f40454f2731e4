"""Helpers of the capacity hub's tests: settings, capacity events on a real broker, webhook receivers as real HTTP
servers on loopback, and the hub running its lifespan behind a real uvicorn server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from aiokafka import AIOKafkaProducer
from capacity_hub.settings import CapacityHubSettings
from fastapi import FastAPI
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.requests import Request
from starlette.responses import Response

from verbinding_common.contracts.shelter import Programme, ShelterCapacityChanged, ShelterStatus
from verbinding_common.events import build_envelope
from verbinding_devstack.infra.ports import free_port

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
FAST_DELIVERY = {
    "webhook_allow_insecure_targets": True, "webhook_backoff_base_s": 0.05, "webhook_backoff_max_s": 0.3,
    "webhook_claim_interval_s": 0.1, "webhook_record_interval_s": 0.05, "webhook_timeout_s": 2.0,
    "capacity_feed_poll_interval_s": 0.1, "sse_heartbeat_s": 0.5,
}


def hub_settings(*, database_url: str, bootstrap_servers: str, public_key: str,
                 **overrides: object) -> CapacityHubSettings:
    values: dict[str, object] = dict(
        environment="test", database_url=database_url, kafka_bootstrap_servers=bootstrap_servers,
        identity_public_key=public_key, kafka_session_timeout_ms=4_000, kafka_heartbeat_interval_ms=1_000,
        kafka_request_timeout_ms=3_000, relay_poll_interval_s=0.05, consumer_retry_backoff_s=0.05,
        shutdown_drain_s=1.0)
    values.update(overrides)
    return CapacityHubSettings(**values)  # type: ignore[arg-type]


@dataclass
class Shelter:
    """A shelter whose capacity events a test publishes as shelter-placement would."""

    programme: Programme = Programme.lvv
    capacity: int = 60
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    sequence: int = 0
    occupied: int = 0

    def next_change(self) -> ShelterCapacityChanged:
        self.sequence += 1
        self.occupied = (self.occupied + 1) % (self.capacity + 1)
        return ShelterCapacityChanged(
            shelter_id=self.id, sequence=self.sequence, shelter_name=f"Shelter {self.id.hex[:4]}",
            programme=self.programme, neighbourhood="Oost", operator="HVO-Querido", status=ShelterStatus.open,
            capacity=self.capacity, occupied=self.occupied, available=self.capacity - self.occupied,
            changed_at=datetime.now(UTC))


class CapacityPublisher:
    """Publishes capacity events onto the broker the way shelter-placement's relay does."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")

    async def __aenter__(self) -> CapacityPublisher:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def publish(self, shelter: Shelter, count: int = 1) -> list[ShelterCapacityChanged]:
        changes = []
        for _ in range(count):
            change = shelter.next_change()
            envelope = build_envelope(change, source="shelter-placement", subject=str(shelter.id))
            await self.producer.send_and_wait(change.topic, envelope.to_bytes(), key=str(shelter.id).encode(),
                                              headers=[("ce_id", envelope.id.encode()),
                                                       ("ce_type", envelope.type.encode())])
            changes.append(change)
        return changes


class Receiver:
    """A webhook receiver verifying every request with the standardwebhooks package; its answer is settable."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.answer = 204
        self.delay_s = 0.0
        self.received: list[dict] = []
        self.message_ids: list[str] = []
        self.refused = 0
        self.headers: list[dict[str, str]] = []  # of every request
        self.port = free_port()
        self.app = FastAPI()
        self.app.add_api_route("/hook", self._hook, methods=["POST"])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        self.headers.append(dict(request.headers))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.answer >= 300:
            return Response(status_code=self.answer)
        try:
            message = Webhook(self.secret or "").verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.refused += 1
            return Response(status_code=400)
        self.message_ids.append(request.headers["webhook-id"])
        self.received.append(message["data"])
        return Response(status_code=self.answer)

    def sequences(self, shelter: Shelter) -> list[int]:
        return [change["sequence"] for change in self.received if change["shelter_id"] == str(shelter.id)]

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                               lifespan="off"))
        task = asyncio.create_task(server.serve())
        try:
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
            yield
        finally:
            server.should_exit = server.force_exit = True
            await task


