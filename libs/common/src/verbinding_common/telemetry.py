"""OpenTelemetry for every service: the process's tracer provider, exporters, instrumentation, W3C context."""

from __future__ import annotations

import atexit
import json
import os
import threading
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
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Span, Tracer, format_span_id, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

# opentelemetry-instrumentation-aiokafka is deliberately never enabled: its receive span ends inside
# getmany (the handler falls outside the trace) and its send span ends before the real send
# (open-telemetry/opentelemetry-python-contrib#3465, #3026). The backbone makes its own Kafka spans
# with inject_headers / context_from_headers.

_PROPAGATOR = TraceContextTextMapPropagator()
_UNTRACED_URLS = "/healthz$,/readyz$"
TRACE_ID_HEADER = "X-Trace-Id"

_lock = threading.Lock()
_exporting_to: set[str] = set()
_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def setup_telemetry(
    *,
    service_name: str,
    otlp_endpoint: str | None = None,
    trace_file: Path | None = None,
    app: FastAPI | None = None,
    engine: AsyncEngine | None = None,
    span_processor: SpanProcessor | None = None,
) -> TracerProvider:
    """Set the process's tracer provider once, add exporters and instrument the given app and engine.

    Safe to call again: later calls reuse the provider (and its service name) and only add what is new.
    Call it before the app serves its first request (lifespan included): middleware is fixed by then.
    """
    with _lock:
        provider = _process_provider(service_name)
        if otlp_endpoint and otlp_endpoint not in _exporting_to:
            exporter = OTLPSpanExporter(endpoint=_traces_url(otlp_endpoint))
            provider.add_span_processor(BatchSpanProcessor(exporter))
            _exporting_to.add(otlp_endpoint)
        if trace_file and (file_key := str(Path(trace_file).resolve())) not in _exporting_to:
            provider.add_span_processor(BatchSpanProcessor(JsonLinesSpanExporter(trace_file)))
            _exporting_to.add(file_key)
        if span_processor is not None:
            provider.add_span_processor(span_processor)
        if not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry:
            HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        if app is not None and not getattr(app, "_is_instrumented_by_opentelemetry", False):
            # The ASGI middleware hands every response to this propagator inside the server span and
            # after all error handlers, so even a 500 names its trace; a Starlette middleware would not.
            set_global_response_propagator(_TraceIdResponsePropagator())
            FastAPIInstrumentor.instrument_app(
                app, tracer_provider=provider, excluded_urls=_UNTRACED_URLS, exclude_spans=["receive", "send"]
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
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> Context:
    """A context whose parent is the given traceparent (an empty context if it is missing or invalid)."""
    if not traceparent:
        return Context()
    return _PROPAGATOR.extract({"traceparent": traceparent}, context=Context())


def inject_headers(headers: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """A new list of Kafka headers carrying the current trace context (a list: a tuple gets none)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    kept = [(key, value) for key, value in headers if key not in carrier]
    return kept + [(key, value.encode()) for key, value in carrier.items()]


def context_from_headers(headers: Sequence[tuple[str, bytes]] | None) -> Context:
    """The trace context carried by Kafka record headers (an empty context if they carry none)."""
    carrier = {
        key: value.decode("latin-1")
        for key, value in headers or ()
        if key in _PROPAGATOR.fields and value is not None
    }
    return _PROPAGATOR.extract(carrier, context=Context())


def shutdown_telemetry() -> None:
    """Export what is pending and stop every exporter; setup_telemetry may start new ones afterwards."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush()
        provider.shutdown()
    with _lock:
        _exporting_to.clear()


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per span to a file that several processes share."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        data = "".join(json.dumps(_span_record(span), default=str) + "\n" for span in spans).encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                # One write on an O_APPEND descriptor: other processes' lines never land inside ours.
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

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
    instrumentor.instrument(engines=list(_engines), tracer_provider=provider, skip_dep_check=True)


def _traces_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"
