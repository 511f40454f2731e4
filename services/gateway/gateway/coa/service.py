"""Taking COA recognitions in: validate all, produce each to Kafka and await every ack, keep receipts, report status."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi.exceptions import RequestValidationError
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.auth import Identity
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.events import build_envelope
from verbinding_common.kafka import ensure_topics, new_admin
from verbinding_common.settings import ServiceSettings
from verbinding_common.telemetry import current_traceparent, get_tracer, inject_headers

from ..downstream import Downstream, ServiceUnavailable, segment
from .models import CaseSummary, CoaReceipt, CoaRejection, RecognitionBatch, RecognitionStatus

tracer = get_tracer(__name__)

# Event ids are uuid5(namespace, "<COA number>|<recognised_on>"): a resend makes the same event, which
# intake's idempotent consumer then skips.
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:verbinding:coa.status-recognised.v1")

_CASE_PROGRESS = {"assigned": "case_manager_assigned", "waitlisted": "waitlisted", "closed": "case_closed"}


class BrokerUnavailable(Exception):
    """The broker did not acknowledge every recognition in time."""


@dataclass(frozen=True)
class ProducedRecognition:
    coa_registration_number: str
    event_id: str


def event_id_for(recognition: StatusRecognised) -> str:
    """The deterministic event id of a recognition: the same COA number and date give the same id."""
    name = f"{recognition.coa_registration_number}|{recognition.recognised_on.isoformat()}"
    return str(uuid.uuid5(EVENT_NAMESPACE, name))


def parse_recognitions(raw: bytes) -> list[StatusRecognised]:
    """One recognition or {"recognitions": [...]}, all valid, else a 422 naming every bad field (and its index)."""
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ["body"], "msg": f"JSON: {exc}"}]) from None
    try:
        if isinstance(payload, dict) and "recognitions" in payload:
            return RecognitionBatch.model_validate(payload).recognitions
        return [StatusRecognised.model_validate(payload)]
    except ValidationError as exc:
        # Only where and what: the input (names, dates of birth) is not echoed back.
        errors = [{"type": error["type"], "loc": ["body", *error["loc"]], "msg": error["msg"]}
                  for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


class RecognitionPublisher:
    """Produces recognitions straight to the COA topic on the app's acks=all producer."""

    def __init__(self, *, producer: AIOKafkaProducer, settings: ServiceSettings, topic: str,
                 ack_timeout_s: float) -> None:
        self.producer, self.settings, self.topic, self.ack_timeout_s = producer, settings, topic, ack_timeout_s
        self._topic_ready = False

    async def publish(self, *, recognitions: list[StatusRecognised]) -> list[ProducedRecognition]:
        """Send every recognition, then await every acknowledgement; BrokerUnavailable if any is missing in time."""
        with tracer.start_as_current_span(
            f"{self.topic} publish", kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "kafka", "messaging.destination.name": self.topic,
                        "messaging.batch.message_count": len(recognitions)},
        ) as span:
            futures: list[asyncio.Future] = []
            try:
                async with asyncio.timeout(self.ack_timeout_s):
                    await self._ensure_topic()
                    produced = []
                    for recognition in recognitions:
                        number, event_id = recognition.coa_registration_number, event_id_for(recognition)
                        envelope = build_envelope(recognition, source=self.settings.service_name, subject=number,
                                                  traceparent=current_traceparent(), event_id=event_id)
                        headers = inject_headers([("ce_id", event_id.encode()),
                                                  ("ce_type", envelope.type.encode())])
                        future = await self.producer.send(self.topic, value=envelope.to_bytes(),
                                                          key=number.encode(), headers=headers)
                        future.add_done_callback(_retrieve_exception)
                        futures.append(future)
                        produced.append(ProducedRecognition(number, event_id))
                    await asyncio.gather(*futures)
            except (TimeoutError, KafkaError) as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"broker did not acknowledge: {exc.__class__.__name__}"))
                raise BrokerUnavailable(exc.__class__.__name__) from exc
            return produced

    async def _ensure_topic(self) -> None:
        if self._topic_ready:
            return
        admin = new_admin(self.settings)
        await admin.start()
        try:
            await ensure_topics(admin, [self.topic])
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
        self._topic_ready = True


def _retrieve_exception(future: asyncio.Future) -> None:
    # A send the request stopped waiting for may still fail later; its error is already answered (503).
    if not future.cancelled():
        future.exception()


async def record_receipts(*, session: AsyncSession, produced: list[ProducedRecognition]) -> None:
    """Count one more delivery per COA number (first and last time, latest event id)."""
    deliveries = Counter(item.coa_registration_number for item in produced)
    latest = {item.coa_registration_number: item.event_id for item in produced}
    rows = [{"coa_registration_number": number, "event_id": latest[number], "deliveries": count}
            for number, count in sorted(deliveries.items())]
    statement = pg_insert(CoaReceipt).values(rows)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[CoaReceipt.coa_registration_number],
        set_={"event_id": statement.excluded.event_id, "last_received_at": statement.excluded.last_received_at,
              "deliveries": CoaReceipt.deliveries + statement.excluded.deliveries},
    ))


async def recognition_status(*, session: AsyncSession, intake: Downstream, case_plan: Downstream,
                             identity: Identity, coa_registration_number: str) -> RecognitionStatus | None:
    """How far a recognition got (received or rejected … case manager assigned / waitlisted / closed); None if
    unknown."""
    receipt = await session.get(CoaReceipt, coa_registration_number)
    found: dict[str, Any] = {"coa_registration_number": coa_registration_number, "status": "received",
                             "received_at": receipt.first_received_at if receipt else None, "unavailable": []}
    try:
        registered = await intake.request("GET", f"/recognitions/{segment(coa_registration_number)}/status",
                                          identity=identity)
        if registered.status_code not in (200, 404):
            raise ServiceUnavailable(intake.name, f"answered {registered.status_code}")
    except ServiceUnavailable as exc:
        if receipt is None:
            raise
        found["unavailable"].append(exc.service)
        return RecognitionStatus.model_validate(found)
    if registered.status_code == 404:
        if rejection := await session.get(CoaRejection, coa_registration_number):
            found.update(status="rejected", reason=rejection.reason,
                         received_at=found["received_at"] or rejection.rejected_at)
            return RecognitionStatus.model_validate(found)
        return RecognitionStatus.model_validate(found) if receipt else None
    person = registered.json()
    found.update(status="person_registered", person_id=str(person["person_id"]))
    found["received_at"] = found["received_at"] or person.get("registered_at")
    try:
        answer = await case_plan.request("GET", f"/persons/{segment(found['person_id'])}/case", identity=identity)
        if answer.status_code not in (200, 404):
            raise ServiceUnavailable(case_plan.name, f"answered {answer.status_code}")
    except ServiceUnavailable as exc:
        found["unavailable"].append(exc.service)
        return RecognitionStatus.model_validate(found)
    if answer.status_code == 200:
        case = answer.json()
        found["case"] = CaseSummary(case_id=str(case["case_id"]), status=case["status"],
                                    waitlist_position=case.get("waitlist_position"))
        found["status"] = _CASE_PROGRESS.get(case["status"], "case_opened")
    return RecognitionStatus.model_validate(found)
