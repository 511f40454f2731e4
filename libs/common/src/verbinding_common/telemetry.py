"""OpenTelemetry for every service: the process's tracer provider, exporters, instrumentation, W3C context."""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.propagators import ResponsePropagator, set_global_response_propagator
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    Status,
    TraceFlags,
    Tracer,
    format_span_id,
    format_trace_id,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic_core import to_json
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

# opentelemetry-instrumentation-aiokafka is deliberately never enabled: its receive span ends inside
# getmany (the handler falls outside the trace) and its send span ends before the real send
# (open-telemetry/opentelemetry-python-contrib#3465, #3026). The backbone makes its own Kafka spans
# with inject_headers / context_from_headers.

_PROPAGATOR = TraceContextTextMapPropagator()
# The instrumentations' own metrics (sizes, in-flight counts, pool events, with host and port attributes) cost CPU on
# every request and call; verbinding_common.metrics records the one request metric that matters, by route template.
_NO_METRICS = NoOpMeterProvider()
_UNTRACED_URLS = "/healthz$,/readyz$,/metrics$"
TRACE_ID_HEADER = "X-Trace-Id"

_lock = threading.Lock()
_exporting_to: set[str] = set()
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()

# What never leaves the process on a span: client addresses and user agents (network identifiers), and raw
# URLs, paths, queries and message keys (they carry COA numbers); span names and `http.route` keep the route template.
# Exception messages and status texts can quote input values, so only the exception's type is kept.
_PRIVATE_ATTRIBUTES = frozenset({
    "client.address", "client.port", "net.peer.ip", "net.peer.port", "net.peer.name", "net.sock.peer.addr",
    "net.sock.peer.port", "network.peer.address", "network.peer.port", "http.client_ip", "http.user_agent",
    "user_agent.original", "user_agent.synthetic.type", "http.url", "url.full", "http.target", "url.path",
    "url.query", "exception.message", "exception.stacktrace", "messaging.kafka.message.key",
    "messaging.kafka.message_key",
})


def setup_telemetry(
    *,
    service_name: str,
    otlp_endpoint: str | None = None,
    trace_file: Path | None = None,
    app: FastAPI | None = None,
    engine: AsyncEngine | None = None,
    span_processor: SpanProcessor | None = None,
    trace_file_max_bytes: int = 20 * 1024 * 1024,
    trace_file_max_age_s: float = 24 * 3600,
) -> TracerProvider:
    """Set the process's tracer provider once, add exporters and instrument the given app and engine.

    Safe to call again: later calls reuse the provider (and its service name) and only add what is new.
    Call it before the app serves its first request (lifespan included): middleware is fixed by then.
    Without `otlp_endpoint`, the standard OTEL_EXPORTER_OTLP_ENDPOINT variable names the collector (as in compose).
    """
    otlp_endpoint = otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
    with _lock:
        provider = _process_provider(service_name)
        if otlp_endpoint and otlp_endpoint not in _exporting_to:
            exporter = OTLPSpanExporter(endpoint=_traces_url(otlp_endpoint))
            provider.add_span_processor(BatchSpanProcessor(PrivateSpanExporter(exporter)))
            _exporting_to.add(otlp_endpoint)
        if trace_file and (file_key := str(Path(trace_file).resolve())) not in _exporting_to:
            file_exporter = JsonLinesSpanExporter(trace_file, max_bytes=trace_file_max_bytes,
                                                  max_age_s=trace_file_max_age_s)
            provider.add_span_processor(BatchSpanProcessor(PrivateSpanExporter(file_exporter)))
            _exporting_to.add(file_key)
        if span_processor is not None:
            provider.add_span_processor(span_processor)
        if not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry:
            HTTPXClientInstrumentor().instrument(tracer_provider=provider, meter_provider=_NO_METRICS)
        if app is not None and not getattr(app, "_is_instrumented_by_opentelemetry", False):
            # The ASGI middleware hands every response to this propagator inside the server span and
            # after all error handlers, so even a 500 names its trace; a Starlette middleware would not.
            set_global_response_propagator(_TraceIdResponsePropagator())
            FastAPIInstrumentor.instrument_app(
                app, tracer_provider=provider, excluded_urls=_UNTRACED_URLS, exclude_spans=["receive", "send"],
                meter_provider=_NO_METRICS,
            )
        if engine is not None and engine.sync_engine not in _engines:
            _instrument_engine(engine.sync_engine, provider)
        return provider


def get_tracer(name: str) -> Tracer:
    """The tracer for one module of ours, from the process's provider."""
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, or None when there is no valid span."""
    return traceparent_of(trace.get_current_span())


def traceparent_of(span: Span) -> str | None:
    """The W3C traceparent of `span` (current or not), or None when it is not a valid span."""
    # What the W3C propagator writes, without building a context and a carrier for every event on the hot path.
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def context_from_traceparent(traceparent: str | None) -> Context:
    """A context whose parent is the given traceparent (an empty context if it is missing or invalid)."""
    if not traceparent:
        return Context()
    return _simple_parent(traceparent) or _PROPAGATOR.extract({"traceparent": traceparent}, context=Context())


_HEX = frozenset("0123456789abcdef")


def _simple_parent(traceparent: str) -> Context | None:
    """The context of a version-00 traceparent as this backbone writes it, parsed without the propagator's regular
    expressions (once per event on the hot path); None for anything else, which the propagator then reads."""
    parent = _simple_span_context(traceparent)
    return trace.set_span_in_context(NonRecordingSpan(parent), Context()) if parent is not None else None


def _simple_span_context(traceparent: str) -> SpanContext | None:
    if len(traceparent) != 55 or not traceparent.startswith("00-") or traceparent[35] != "-" \
            or traceparent[52] != "-" or not _HEX.issuperset(traceparent[3:35] + traceparent[36:52] + traceparent[53:]):
        return None
    trace_id, span_id = int(traceparent[3:35], 16), int(traceparent[36:52], 16)
    if not trace_id or not span_id:
        return None
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(int(traceparent[53:], 16)))


def span_context_from_traceparent(traceparent: str | None) -> SpanContext | None:
    """The remote span context a traceparent names (None if it is missing or invalid), without building a context
    around it: what light spans (verbinding_common.spans) take as their parent."""
    if not traceparent:
        return None
    simple = _simple_span_context(traceparent)
    if simple is not None:
        return simple
    return _valid(trace.get_current_span(context_from_traceparent(traceparent)).get_span_context())


def span_context_from_headers(headers: Sequence[tuple[str, bytes]] | None) -> SpanContext | None:
    """The remote span context Kafka record headers carry (None if none): `context_from_headers` without the
    context."""
    traceparent, has_state = None, False
    for key, value in headers or ():
        if key == "traceparent" and value is not None:
            traceparent = value.decode("latin-1")
        elif key == "tracestate":
            has_state = True
    if traceparent is not None and not has_state and (simple := _simple_span_context(traceparent)) is not None:
        return simple
    return _valid(trace.get_current_span(context_from_headers(headers)).get_span_context())


def _valid(context: SpanContext) -> SpanContext | None:
    return context if context.is_valid else None


def inject_headers(headers: list[tuple[str, bytes]], span: Span | None = None) -> list[tuple[str, bytes]]:
    """A new list of Kafka headers carrying the trace context of `span` (else the current one): a list, as a
    tuple gets none."""
    span = trace.get_current_span() if span is None else span
    traceparent = traceparent_of(span)
    if traceparent is None:
        return list(headers)
    carrier = {"traceparent": traceparent}
    if trace_state := span.get_span_context().trace_state:
        carrier["tracestate"] = trace_state.to_header()
    kept = [(key, value) for key, value in headers if key not in carrier]
    return kept + [(key, value.encode()) for key, value in carrier.items()]


def context_from_headers(headers: Sequence[tuple[str, bytes]] | None) -> Context:
    """The trace context carried by Kafka record headers (an empty context if they carry none)."""
    carrier = {
        key: value.decode("latin-1")
        for key, value in headers or ()
        if key in _PROPAGATOR.fields and value is not None
    }
    if "tracestate" not in carrier and (simple := _simple_parent(carrier.get("traceparent", ""))) is not None:
        return simple
    return _PROPAGATOR.extract(carrier, context=Context())


def shutdown_telemetry() -> None:
    """Export what is pending and stop every exporter; setup_telemetry may start new ones afterwards."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush()
        provider.shutdown()
    with _lock:
        _exporting_to.clear()


class PrivateSpanExporter(SpanExporter):
    """Hands spans on without network identifiers, raw URLs or exception texts (see _PRIVATE_ATTRIBUTES)."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.exporter.export([private_span(span) for span in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.exporter.force_flush(timeout_millis)


def private_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of `span` without the attributes that identify a person or a client (the span itself when it has
    none of them: most spans, and copying each one cost more than making it)."""
    if (span.status.description is None and _PRIVATE_ATTRIBUTES.isdisjoint(span.attributes or ())
            and all(_PRIVATE_ATTRIBUTES.isdisjoint(event.attributes or ()) for event in span.events)):
        return span
    events = [Event(event.name, _public(event.attributes), event.timestamp) for event in span.events]
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource,
        attributes=_public(span.attributes), events=events, links=span.links, kind=span.kind,
        status=Status(span.status.status_code), start_time=span.start_time, end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _public(attributes: Any) -> dict[str, Any]:
    return {key: value for key, value in (attributes or {}).items() if key not in _PRIVATE_ATTRIBUTES}


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per span to a file that several processes share, readable by its owner only;
    rotated past `max_bytes`, rotated files deleted after `max_age_s`."""

    def __init__(self, path: Path, *, max_bytes: int = 20 * 1024 * 1024, max_age_s: float = 24 * 3600) -> None:
        self.path = Path(path)
        self.max_bytes, self.max_age_s = max_bytes, max_age_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            os.chmod(self.path, 0o600)
        self._purge_old()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        # pydantic-core's encoder: a fifth of json.dumps' time per span, and exporting runs beside every service's work.
        data = b"".join(to_json(_span_record(span), fallback=str) + b"\n" for span in spans)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                # One write on an O_APPEND descriptor: other processes' lines never land inside ours.
                os.write(fd, data)
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size > self.max_bytes:
                self._rotate()
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def rotated_files(self) -> list[Path]:
        return sorted(self.path.parent.glob(f"{self.path.name}.*"))

    def _rotate(self) -> None:
        # A rename is atomic: another process's next write opens a fresh file. If two rotate at once, the
        # loser finds nothing to rename.
        try:
            os.rename(self.path, self.path.with_name(f"{self.path.name}.{time.time_ns()}"))
        except FileNotFoundError:
            pass
        self._purge_old()

    def _purge_old(self) -> None:
        oldest = time.time() - self.max_age_s
        for rotated in self.rotated_files():
            try:
                if rotated.stat().st_mtime < oldest:
                    rotated.unlink()
            except FileNotFoundError:
                pass

    def shutdown(self) -> None:
        pass


def _span_record(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    return {
        "trace_id": format_trace_id(context.trace_id),
        "span_id": format_span_id(context.span_id),
        "parent_span_id": format_span_id(span.parent.span_id) if span.parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get(SERVICE_NAME),
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "events": [{"name": event.name, "attributes": dict(event.attributes or {})} for event in span.events],
    }


class _RenewableSpanProcessors(SynchronousMultiSpanProcessor):
    """Forgets its processors once shut down, so one process (a test run) can set telemetry up again."""

    def shutdown(self) -> None:
        super().shutdown()
        with self._lock:
            self._span_processors = ()


class _TraceIdResponsePropagator(ResponsePropagator):
    """Puts the server span's trace id on every response, so a user reporting a problem can name it."""

    def inject(self, carrier: Any, context: Context | None = None, setter: Any = None) -> None:
        if not isinstance(carrier, dict) or carrier.get("type") != "http.response.start":
            return
        span_context = trace.get_current_span(context).get_span_context()
        if span_context.is_valid:
            trace_id = format_trace_id(span_context.trace_id).encode()
            # A new list: Starlette hands over the response object's own header list.
            carrier["headers"] = [*carrier.get("headers", ()), (TRACE_ID_HEADER.lower().encode(), trace_id)]


def _process_provider(service_name: str) -> TracerProvider:
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name}),
        active_span_processor=_RenewableSpanProcessors(),
        shutdown_on_exit=False,
    )
    trace.set_tracer_provider(provider)
    atexit.register(shutdown_telemetry)
    return provider


def _instrument_engine(engine: Engine, provider: TracerProvider) -> None:
    _engines.add(engine)
    instrumentor = SQLAlchemyInstrumentor()
    # instrument() acts once per process, so a new engine means instrumenting again with all of them.
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    # The package declares sqlalchemy < 2.1 and silently does nothing on 2.1 unless told to skip the check.
    instrumentor.instrument(engines=list(_engines), tracer_provider=provider, meter_provider=_NO_METRICS,
                            skip_dep_check=True)


def _traces_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"
