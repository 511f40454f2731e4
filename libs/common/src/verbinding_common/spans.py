"""Spans made many at a time: one per event of a fetch, one per outbox row a relay publishes.

Each span's ids are drawn when its work starts, so its traceparent can go into what the work stages (outbox rows,
Kafka headers) and the journey stays one trace; when the work ends, the span goes to the process's span processors
as a finished `ReadableSpan`. The SDK's `start_span` and `end` cost about four times as much (its bounded attribute
and link containers, a lock per span, a processor call at start and end): with two or three such spans per
recognition in every consumer, they were a sixth of intake's, case-plan's and employment's CPU. The span in which a
fetch's shared statements run stays an SDK span: only these per-item spans, which never become current, are light.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.sampling import DEFAULT_ON, Decision
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import INVALID_SPAN_CONTEXT, Link, NonRecordingSpan, SpanContext, SpanKind, Status, TraceFlags

__all__ = ["LightSpan", "LightTracer"]

_SAMPLED, _NOT_SAMPLED = TraceFlags(TraceFlags.SAMPLED), TraceFlags(TraceFlags.DEFAULT)


class LightSpan:
    """A span whose context is fixed at start and which is recorded only when `LightTracer.end` is called. It
    answers `get_span_context` as an SDK span does, so `traceparent_of` and `inject_headers` take it."""

    __slots__ = ("_context", "_parent", "attributes", "events", "kind", "links", "name", "recording", "start_ns",
                 "status")

    def __init__(self, name: str, context: SpanContext, parent: SpanContext | None, kind: SpanKind,
                 attributes: dict[str, Any], links: Sequence[Link], recording: bool) -> None:
        self.name, self.kind, self.attributes, self.links = name, kind, attributes, links
        self._context, self._parent, self.recording = context, parent, recording
        self.start_ns = time.time_ns()
        self.status = Status()
        self.events: list[Event] = []

    def get_span_context(self) -> SpanContext:
        return self._context

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def set_status(self, status: Status) -> None:
        self.status = status

    def record_exception(self, exception: BaseException) -> None:
        # The type only: messages can quote input values (the exporters drop them anyway).
        self.events.append(Event("exception", {"exception.type": type(exception).__name__}))


class LightTracer:
    """Makes `LightSpan`s with the process's tracer provider: its sampler, id generator, resource and processors.
    Without an SDK provider (telemetry not set up) a light span carries its parent's context and records nothing,
    as the API's no-op tracer does."""

    def __init__(self, name: str, provider: trace.TracerProvider | None = None) -> None:
        """`provider`: the process's (as it is when spans are made) unless given."""
        self._scope = InstrumentationScope(name)
        self._name = name
        self._given_provider = provider
        self._tracer: SdkTracer | None = None
        self._provider: object | None = None

    def _sdk_tracer(self) -> SdkTracer | None:
        provider = self._given_provider or trace.get_tracer_provider()
        if provider is not self._provider:
            self._provider = provider
            tracer = provider.get_tracer(self._name) if isinstance(provider, SdkTracerProvider) else None
            self._tracer = tracer if isinstance(tracer, SdkTracer) else None
        return self._tracer

    def start(self, name: str, *, parent: Context | SpanContext | None, kind: SpanKind,
                 attributes: Mapping[str, Any], links: Sequence[Link] = ()) -> LightSpan:
        """A span under `parent` (a span context, or a context holding a span; a new trace without one), started
        now. With the SDK's default sampler (parent-based, always on) the decision is the parent's sampled flag,
        read here without building a context for the sampler."""
        if isinstance(parent, Context):
            parent = trace.get_current_span(parent).get_span_context()
        parent_context = parent if parent is not None and parent.is_valid else None
        tracer = self._sdk_tracer()
        if tracer is None:
            return LightSpan(name, parent_context or INVALID_SPAN_CONTEXT, None, kind, dict(attributes), links,
                             recording=False)
        ids = tracer.id_generator
        trace_id = parent_context.trace_id if parent_context is not None else ids.generate_trace_id()
        if tracer.sampler is DEFAULT_ON:
            sampled = parent_context is None or parent_context.trace_flags.sampled
            context = SpanContext(trace_id, ids.generate_span_id(), is_remote=False,
                                  trace_flags=_SAMPLED if sampled else _NOT_SAMPLED,
                                  trace_state=parent_context.trace_state if parent_context is not None else None)
            return LightSpan(name, context, parent_context, kind, dict(attributes), links, recording=sampled)
        result = tracer.sampler.should_sample(
            trace.set_span_in_context(NonRecordingSpan(parent_context)) if parent_context is not None else None,
            trace_id, name, kind, attributes, links)
        flags = _SAMPLED if result.decision is Decision.RECORD_AND_SAMPLE else _NOT_SAMPLED
        context = SpanContext(trace_id, ids.generate_span_id(), is_remote=False, trace_flags=flags,
                              trace_state=result.trace_state)
        return LightSpan(name, context, parent_context, kind, dict(result.attributes or attributes), links,
                         recording=result.decision is not Decision.DROP)

    def end(self, spans: Iterable[LightSpan]) -> None:
        """Hand the spans to the span processors as finished now (each one once: call this once per span)."""
        tracer = self._sdk_tracer()
        if tracer is None:
            return
        end_ns = time.time_ns()
        processor = tracer.span_processor
        for span in spans:
            if not span.recording:
                continue
            processor.on_end(ReadableSpan(
                name=span.name, context=span.get_span_context(), parent=span._parent, resource=tracer.resource,
                attributes=span.attributes, events=span.events, links=span.links, kind=span.kind,
                status=span.status, start_time=span.start_ns, end_time=end_ns,
                instrumentation_scope=self._scope))
