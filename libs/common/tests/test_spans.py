"""Light spans (verbinding_common.spans): what the processors receive, sampling, and what they cost."""

from __future__ import annotations

import time
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, get_current_span, get_tracer_provider

from verbinding_common.spans import LightTracer
from verbinding_common.telemetry import (
    context_from_headers,
    context_from_traceparent,
    get_tracer,
    span_context_from_headers,
    span_context_from_traceparent,
    traceparent_of,
)

SAMPLED_PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UNSAMPLED_PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


def test_a_light_span_reaches_the_processors_as_the_sdk_would_make_it(spans: InMemorySpanExporter) -> None:
    light = LightTracer("test")
    with get_tracer(__name__).start_as_current_span("batch") as batch:
        links = (Link(batch.get_span_context()),)
        span = light.start("topic process", parent=context_from_traceparent(SAMPLED_PARENT), kind=SpanKind.CONSUMER,
                           attributes={"messaging.message.id": "e-1"}, links=links)
    traceparent = traceparent_of(span)
    assert traceparent is not None and traceparent.startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert traceparent.endswith("-01") and traceparent[36:52] != "b7ad6b7169203331", "a span id of its own"
    assert not spans.get_finished_spans() or all(s.name != "topic process" for s in spans.get_finished_spans())
    span.set_attribute("messaging.kafka.offset", 7)
    span.record_exception(ValueError("COA V-123 broke"))
    span.set_status(Status(StatusCode.ERROR, "COA V-123 broke"))
    light.end([span])

    [made] = [s for s in spans.get_finished_spans() if s.name == "topic process"]
    assert made.context.span_id == span.get_span_context().span_id
    assert made.parent is not None and made.parent.span_id == 0xB7AD6B7169203331
    assert made.kind is SpanKind.CONSUMER
    assert dict(made.attributes or {}) == {"messaging.message.id": "e-1", "messaging.kafka.offset": 7}
    assert [link.context.span_id for link in made.links] == [batch.get_span_context().span_id]
    assert made.status.status_code is StatusCode.ERROR
    assert [(e.name, dict(e.attributes or {})) for e in made.events] == [
        ("exception", {"exception.type": "ValueError"})], "the type only: the message may quote input values"
    assert made.resource is get_tracer_provider().resource, "the process's resource (its service name)"  # type: ignore[attr-defined]
    assert made.start_time is not None and made.end_time is not None and made.start_time <= made.end_time


def test_a_light_span_follows_its_parents_sampling_and_starts_a_trace_without_one(
        spans: InMemorySpanExporter) -> None:
    light = LightTracer("test")
    unsampled = light.start("not sampled", parent=context_from_traceparent(UNSAMPLED_PARENT),
                            kind=SpanKind.PRODUCER, attributes={})
    root = light.start("root", parent=context_from_traceparent(None), kind=SpanKind.PRODUCER, attributes={})
    light.end([unsampled, root])
    assert traceparent_of(unsampled).endswith("-00")  # type: ignore[union-attr]
    assert unsampled.get_span_context().trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    names = [s.name for s in spans.get_finished_spans()]
    assert "not sampled" not in names
    [made_root] = [s for s in spans.get_finished_spans() if s.name == "root"]
    assert made_root.parent is None and made_root.context.trace_id != 0


def test_a_light_span_costs_far_less_cpu_than_an_sdk_span() -> None:
    # Why they exist: a consumer makes one per event and a relay one per row. Both kinds go to the same provider,
    # whose batch processor queues them as in a service; measured in CPU time, the better of three rounds each
    # (other work on the machine only lengthens both).
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Discard(), schedule_delay_millis=60_000, max_queue_size=10_000))
    light, sdk = LightTracer("test", provider), provider.get_tracer("test")
    parent = context_from_traceparent(SAMPLED_PARENT)
    attributes = {"messaging.system": "kafka", "messaging.destination.name": "t", "messaging.message.id": "e",
                  "messaging.consumer.group.name": "g", "messaging.destination.partition.id": "1"}

    def light_round() -> float:
        began = time.process_time()
        made = [light.start("t process", parent=parent, kind=SpanKind.CONSUMER, attributes=attributes)
                for _ in range(500)]
        light.end(made)
        return time.process_time() - began

    def sdk_round() -> float:
        began = time.process_time()
        for _ in range(500):
            sdk.start_span("t process", context=parent, kind=SpanKind.CONSUMER, attributes=attributes).end()
        return time.process_time() - began

    try:
        light_s = min(light_round() for _ in range(3))
        sdk_s = min(sdk_round() for _ in range(3))
    finally:
        provider.shutdown()
    assert light_s < 0.6 * sdk_s, f"light {light_s * 1e6 / 500:.1f} µs, SDK {sdk_s * 1e6 / 500:.1f} µs a span"


class _Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def test_a_provider_with_a_sampler_of_its_own_decides() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    light = LightTracer("test", provider)
    span = light.start("dropped", parent=span_context_from_traceparent(SAMPLED_PARENT), kind=SpanKind.CONSUMER,
                       attributes={})
    light.end([span])
    assert exporter.get_finished_spans() == ()
    assert traceparent_of(span).endswith("-00")  # type: ignore[union-attr]


def test_span_contexts_are_read_from_headers_and_traceparents_as_their_contexts_are() -> None:
    with_state = [("traceparent", SAMPLED_PARENT.encode()), ("tracestate", b"vendor=1")]
    for headers in ([("ce_id", b"e-1"), ("traceparent", SAMPLED_PARENT.encode())], with_state):
        expected = get_current_span(context_from_headers(headers)).get_span_context()
        assert span_context_from_headers(headers) == expected
    assert span_context_from_headers(with_state).trace_state.get("vendor") == "1"  # type: ignore[union-attr]
    assert span_context_from_headers([("ce_id", b"e-1")]) is None
    assert span_context_from_headers(None) is None
    assert span_context_from_traceparent(UNSAMPLED_PARENT) == get_current_span(
        context_from_traceparent(UNSAMPLED_PARENT)).get_span_context()
    assert span_context_from_traceparent("00-" + "0" * 32 + "-b7ad6b7169203331-01") is None
    assert span_context_from_traceparent("garbage") is None
    assert span_context_from_traceparent(None) is None
