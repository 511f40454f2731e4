"""Delivery in the change's trace: each endpoint's outcome is there, at a fraction of a span per delivery.

A failed attempt gets a span of its own at once ("webhook deliver", error status, the answer's status code or the
error). Delivered attempts are gathered and, with each recording round, make one "webhook deliver" span per change
naming every endpoint it reached and each one's status code, from the first attempt's start to the last one's
end. One span per delivery (the SDK's span, its attributes, its export) was about a fifth of the hub's CPU at a
thousand deliveries a second; the server-sent events make one span per change for the same reason ("sse write").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from opentelemetry.trace import SpanKind, Status, StatusCode

from verbinding_common.contracts.shelter import ShelterCapacityChanged
from verbinding_common.telemetry import get_tracer

from ..changes.feed import Change

tracer = get_tracer(__name__)
SPAN_NAME = "webhook deliver"


@dataclass
class _Delivered:
    change: Change
    start_ns: int
    end_ns: int
    endpoint_ids: list[UUID] = field(default_factory=list)
    status_codes: list[int | None] = field(default_factory=list)


class DeliverySpans:
    """The spans of one delivery worker's attempts."""

    def __init__(self) -> None:
        self._delivered: dict[int, _Delivered] = {}

    def delivered(self, change: Change, endpoint_id: UUID, status_code: int | None, start_ns: int,
                  end_ns: int) -> None:
        """Gather a delivered attempt for the change's next span."""
        gathered = self._delivered.get(change.position)
        if gathered is None:
            gathered = self._delivered[change.position] = _Delivered(change, start_ns, end_ns)
        else:
            gathered.start_ns, gathered.end_ns = min(gathered.start_ns, start_ns), max(gathered.end_ns, end_ns)
        gathered.endpoint_ids.append(endpoint_id)
        gathered.status_codes.append(status_code)

    def failed(self, change: Change, endpoint_id: UUID, *, status_code: int | None, error: str | None,
               start_ns: int, end_ns: int) -> None:
        """A span of its own for a failed attempt, at once."""
        attributes: dict[str, str | int] = {**_of(change), "webhook.endpoint_id": str(endpoint_id)}
        if status_code is not None:
            attributes["http.response.status_code"] = status_code
        span = tracer.start_span(SPAN_NAME, context=change.trace_context, kind=SpanKind.PRODUCER,
                                 attributes=attributes, start_time=start_ns)
        span.set_status(Status(StatusCode.ERROR, error or f"answered {status_code}"))
        span.end(end_time=end_ns)

    def emit(self) -> None:
        """One span per change for the deliveries gathered since the last call."""
        gathered, self._delivered = self._delivered, {}
        for delivered in gathered.values():
            tracer.start_span(SPAN_NAME, context=delivered.change.trace_context, kind=SpanKind.PRODUCER,
                              start_time=delivered.start_ns, attributes={
                                  **_of(delivered.change), "webhook.deliveries": len(delivered.endpoint_ids),
                                  "webhook.endpoint_ids": [str(id_) for id_ in delivered.endpoint_ids],
                                  "webhook.status_codes": delivered.status_codes,
                              }).end(end_time=delivered.end_ns)


def _of(change: Change) -> dict[str, str | int]:
    return {"webhook.message_id": change.event_id, "messaging.destination.name": ShelterCapacityChanged.topic}
