"""Metrics through OpenTelemetry: the process's meter provider, `/metrics` in Prometheus format, OTLP where configured,
and the backbone's instruments (consumers, dead letters, relay, outbox). Labels name routes by template, topics,
consumer groups and programmes: never a value a person sent."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Response
from opentelemetry import metrics
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import Meter
from opentelemetry.metrics import _Gauge as Gauge  # synchronous gauge: still marked experimental in the API
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .db import outbox_table
from .jobs import Job, JobContext

_lock = threading.Lock()
_provider: MeterProvider | None = None

HTTP_DURATION = "http.server.request.duration"
# Seconds-scale buckets for batches and jobs (the SDK's defaults are for milliseconds).
_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    """Every metric of this process in the Prometheus text format (what a PodMonitor scrapes)."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def metrics_router_for_tests() -> FastAPI:
    """A bare app serving only `/metrics` (what a scrape of any service answers)."""
    app = FastAPI()
    app.include_router(router)
    return app


def setup_metrics(*, service_name: str, otlp_endpoint: str | None = None) -> MeterProvider:
    """Set the process's meter provider once: read by `/metrics`, and exported by OTLP when an endpoint is named
    (or OTEL_EXPORTER_OTLP_ENDPOINT, unless OTEL_METRICS_EXPORTER leaves out otlp). Later calls return the same
    provider."""
    global _provider
    otlp_endpoint = otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
    # The standard OTEL_METRICS_EXPORTER=none keeps metrics off OTLP where Prometheus scrapes `/metrics` (Kubernetes):
    # its collector has no metrics pipeline, and every export would be refused.
    if "otlp" not in os.environ.get("OTEL_METRICS_EXPORTER", "otlp").split(","):
        otlp_endpoint = None
    with _lock:
        if _provider is not None:
            return _provider
        readers: list[MetricReader] = [PrometheusMetricReader(scope_info_enabled=False)]
        if otlp_endpoint:
            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=_metrics_url(otlp_endpoint))))
        _provider = MeterProvider(
            resource=Resource.create({SERVICE_NAME: service_name}), metric_readers=readers, views=[
                View(instrument_name="*duration", aggregation=ExplicitBucketHistogramAggregation(_SECONDS_BUCKETS)),
            # No exemplars: taking one on every record inside a sampled span is most of a record's cost.
            ], exemplar_filter=AlwaysOffExemplarFilter(), shutdown_on_exit=False)
        metrics.set_meter_provider(_provider)
        return _provider


class RequestMetrics:
    """ASGI middleware: the duration of every request by route template (never the path), method and status. One
    histogram record a request: the instrumentations' own HTTP metrics are off (they cost more and label hosts)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.duration = meter().create_histogram(HTTP_DURATION, unit="s",
                                                 description="Duration of HTTP requests served, by route template")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        began = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            self.duration.record(time.perf_counter() - began, {
                "http.route": getattr(route, "path_format", None) or "(no route)",
                "http.request.method": scope["method"], "http.response.status_code": status})


def meter() -> Meter:
    """The meter every module of ours records with (the no-op meter until setup_metrics ran)."""
    return metrics.get_meter("verbinding")


class _Backbone:
    """The library's instruments (the API's proxies until setup_metrics sets the provider, then the real ones)."""

    def __init__(self) -> None:
        made = meter()
        self.consumer_lag = made.create_gauge(
            "verbinding.consumer.lag", unit="{message}",
            description="Messages on a partition not yet fetched by the consumer group")
        self.consumer_batch_duration = made.create_histogram(
            "verbinding.consumer.batch.duration", unit="s",
            description="Time to apply one fetch of events, per consumer group")
        self.dead_letters = made.create_counter(
            "verbinding.dead_letters", unit="{message}",
            description="Events set aside on <topic>.dlq, per topic and consumer group")
        self.relay_publish_failures = made.create_counter(
            "verbinding.relay.publish_failures", unit="{failure}",
            description="Outbox relay publish attempts that failed (retried)")
        self.outbox_backlog = made.create_gauge(
            "verbinding.outbox.backlog", unit="{event}", description="Outbox rows committed and not yet published")
        self.outbox_oldest_age = made.create_gauge(
            "verbinding.outbox.oldest_age", unit="s",
            description="Age of the oldest unpublished outbox row (0 when none waits)")


backbone = _Backbone()


def outbox_gauges(*, interval_s: float = 15.0) -> Job:
    """The library's job: sample the outbox's backlog and the age of its oldest unpublished row."""

    async def sample(context: JobContext) -> None:
        async with context.engine.connect() as conn:
            count, oldest = (await conn.execute(
                select(func.count(), func.min(outbox_table.c.created_at))
                .where(outbox_table.c.published_at.is_(None)))).one()
        backbone.outbox_backlog.set(count)
        backbone.outbox_oldest_age.set((datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0)

    return Job(name="outbox-metrics", run=sample, interval_s=interval_s)


def gauge(name: str, *, unit: str, description: str) -> Gauge:
    """A synchronous gauge of this process (a service's own: waitlists, free beds, caseload fill)."""
    return meter().create_gauge(name, unit=unit, description=description)


def sampled(*, name: str, sample: Callable[[AsyncConnection], Awaitable[None]], interval_s: float = 15.0) -> Job:
    """A job that reads figures from the service's database and sets its gauges, every `interval_s`."""

    async def run(context: JobContext) -> None:
        async with context.engine.connect() as conn:
            await sample(conn)

    return Job(name=name, run=run, interval_s=interval_s)


def _metrics_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/metrics") else f"{endpoint.removesuffix('/v1/traces')}/v1/metrics"
