"""Webhook delivery in the change's trace: every endpoint's outcome, with one span per change for the deliveries."""

from __future__ import annotations

import uuid

from capacity_hub.changes.feed import Change
from capacity_hub.webhooks.tracing import DeliverySpans
from opentelemetry.trace import StatusCode

TRACE_ID, PARENT_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def change(position: int) -> Change:
    return Change(position=position, event_id=f"e-{position}", shelter_id=uuid.uuid4(), programme="lvv",
                  data={"sequence": position}, traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01")


def test_a_failed_attempt_gets_its_own_span_at_once_and_deliveries_one_span_per_change(spans) -> None:
    first, second = change(1), change(2)
    endpoints = [uuid.uuid4() for _ in range(50)]
    tracing = DeliverySpans()
    for n, endpoint in enumerate(endpoints):
        tracing.delivered(first, endpoint, 204, 1_000 + n, 2_000 + n)
    tracing.delivered(second, endpoints[0], 200, 3_000, 4_000)
    tracing.failed(first, endpoints[1], status_code=503, error=None, start_ns=5_000, end_ns=6_000)
    tracing.failed(second, endpoints[2], status_code=None, error="ConnectError: refused", start_ns=7_000,
                   end_ns=8_000)

    failed = spans.get_finished_spans()
    assert [(span.attributes["webhook.endpoint_id"], span.status.status_code, span.status.description)
            for span in failed] == [(str(endpoints[1]), StatusCode.ERROR, "answered 503"),
                                    (str(endpoints[2]), StatusCode.ERROR, "ConnectError: refused")]
    assert failed[0].attributes["http.response.status_code"] == 503
    assert "http.response.status_code" not in failed[1].attributes

    tracing.emit()
    delivered = spans.get_finished_spans()[2:]
    assert [span.attributes["webhook.message_id"] for span in delivered] == ["e-1", "e-2"]
    assert delivered[0].attributes["webhook.endpoint_ids"] == tuple(str(endpoint) for endpoint in endpoints)
    assert delivered[0].attributes["webhook.status_codes"] == (204,) * 50
    assert (delivered[0].start_time, delivered[0].end_time) == (1_000, 2_049)
    assert delivered[1].attributes["webhook.endpoint_ids"] == (str(endpoints[0]),)
    for span in spans.get_finished_spans():  # all in the change's trace, under its publish span
        assert span.name == "webhook deliver"
        assert (format(span.context.trace_id, "032x"), format(span.parent.span_id, "016x")) == (TRACE_ID, PARENT_ID)

    tracing.emit()
    assert len(spans.get_finished_spans()) == 4  # each delivery in one span only
