"""Telemetry: the trace file and its viewer, the X-Trace-Id header, trace context across Kafka headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import sqlalchemy
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

from verbinding_common.telemetry import (
    JsonLinesSpanExporter,
    PrivateSpanExporter,
    context_from_headers,
    context_from_traceparent,
    current_traceparent,
    get_tracer,
    inject_headers,
    setup_telemetry,
)
from verbinding_devstack import traces


def test_file_exporter_writes_one_line_per_span_with_its_parent(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "traces.jsonl"
    provider = TracerProvider(resource=Resource.create({"service.name": "intake"}))
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(path)))
    tracer = provider.get_tracer("test")

    with tracer.start_as_current_span("register person") as parent:
        with tracer.start_as_current_span("insert person", kind=SpanKind.CLIENT) as child:
            child.set_attribute("person.id", "p-1")
            child.add_event("inserted", {"rows": 1})

    child_line, parent_line = (json.loads(line) for line in path.read_text().splitlines())
    assert parent_line["name"] == "register person"
    assert parent_line["parent_span_id"] is None
    assert child_line["trace_id"] == parent_line["trace_id"] == format_trace_id(parent.context.trace_id)
    assert child_line["parent_span_id"] == parent_line["span_id"] == format_span_id(parent.context.span_id)
    assert child_line["service"] == "intake"
    assert child_line["kind"] == "CLIENT"
    assert child_line["status"] == "UNSET"
    assert child_line["attributes"] == {"person.id": "p-1"}
    assert child_line["events"] == [{"name": "inserted", "attributes": {"rows": 1}}]
    assert parent_line["start_ns"] <= child_line["start_ns"] <= child_line["end_ns"] <= parent_line["end_ns"]


def _span(trace_id: str, span_id: str, parent: str | None, service: str, name: str, start_ms: int) -> str:
    start = 1_700_000_000_000_000_000 + start_ms * 1_000_000
    span = {"trace_id": trace_id, "span_id": span_id, "parent_span_id": parent, "name": name,
            "kind": "INTERNAL", "service": service, "start_ns": start, "end_ns": start + 5_000_000,
            "status": "UNSET", "attributes": {}, "events": []}
    return json.dumps(span) + "\n"


def test_viewer_prints_the_child_indented_under_its_parent_across_services(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_id = "ab" * 16
    path = tmp_path / "traces.jsonl"
    path.write_text(
        _span(trace_id, "2" * 16, "1" * 16, "intake", "consume coa.status-recognitions.v1", 2)
        + _span(trace_id, "1" * 16, None, "gateway", "POST /coa/status-recognitions", 0)
        + _span(trace_id, "3" * 16, "9" * 16, "case-plan", "consume intake.persons.v1", 4)
        + _span("cd" * 16, "4" * 16, None, "shelter-placement", "GET /shelters", 10)
        + '{"trace_id": "cut short by a cra'
    )

    assert traces.main(["--file", str(path), "abab"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert lines[0] == "  gateway  POST /coa/status-recognitions  5.0 ms"
    assert lines[1] == "    intake  consume coa.status-recognitions.v1  5.0 ms"
    assert lines[2].startswith("  case-plan  consume intake.persons.v1  5.0 ms  (orphan")

    assert traces.main(["--file", str(path)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[1].startswith("cd" * 16) and "GET /shelters" in listing[1]
    assert listing[2].startswith(trace_id)
    assert "POST /coa/status-recognitions" in listing[2] and "case-plan, gateway, intake" in listing[2]


def test_viewer_exits_with_a_message_for_a_missing_file_or_an_unknown_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert traces.main(["--file", str(tmp_path / "absent.jsonl")]) == 1
    assert "No trace file" in capsys.readouterr().err

    path = tmp_path / "traces.jsonl"
    path.write_text(_span("ab" * 16, "1" * 16, None, "gateway", "GET /", 0))
    assert traces.main(["--file", str(path), "ffff"]) == 1
    assert "No trace" in capsys.readouterr().err


async def test_every_response_names_the_trace_of_its_server_span(spans: InMemorySpanExporter) -> None:
    app = FastAPI()

    @app.get("/persons/{person_id}")
    async def read_person(person_id: str) -> dict[str, str]:
        return {"id": person_id}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("boom")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    setup_telemetry(service_name="telemetry-test", app=app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        found = await client.get("/persons/p-1")
        failed = await client.get("/broken")
        health = await client.get("/healthz")

    trace_ids = {span.name: format_trace_id(span.context.trace_id)
                 for span in spans.get_finished_spans() if span.kind is SpanKind.SERVER}
    assert found.headers["X-Trace-Id"] == trace_ids["GET /persons/{person_id}"]
    assert failed.status_code == 500
    assert failed.headers["X-Trace-Id"] == trace_ids["GET /broken"]
    assert "X-Trace-Id" not in health.headers
    assert "GET /healthz" not in trace_ids


def test_trace_context_survives_a_traceparent_and_kafka_headers(spans: InMemorySpanExporter) -> None:
    tracer = get_tracer(__name__)
    with tracer.start_as_current_span("relay publish") as producer:
        traceparent = current_traceparent()
        headers = inject_headers([("ce_type", b"intake.person-registered.v1")])

    assert isinstance(headers, list)
    assert headers[0] == ("ce_type", b"intake.person-registered.v1")
    assert dict(headers)["traceparent"] == traceparent.encode()
    for context in (context_from_traceparent(traceparent), context_from_headers(headers)):
        with tracer.start_as_current_span("consume", context=context) as consumer:
            pass
        assert consumer.context.trace_id == producer.context.trace_id
        assert consumer.parent.span_id == producer.context.span_id

    assert current_traceparent() is None
    assert inject_headers([]) == []
    for empty in (context_from_traceparent(None), context_from_traceparent("00-garbage"),
                  context_from_headers(None), context_from_headers([("ce_type", b"x")])):
        assert not trace.get_current_span(empty).get_span_context().is_valid


def test_setting_up_again_keeps_the_provider_and_traces_each_engine_once(spans: InMemorySpanExporter) -> None:
    # setup_telemetry uses only engine.sync_engine; sqlite stands in for asyncpg here.
    first, second = (SimpleNamespace(sync_engine=sqlalchemy.create_engine("sqlite://")) for _ in range(2))
    provider = setup_telemetry(service_name="telemetry-test", engine=first)
    assert setup_telemetry(service_name="another-service", engine=second) is provider
    assert setup_telemetry(service_name="telemetry-test", engine=first) is provider

    for engine in (first, second):
        with engine.sync_engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))

    statements = [span for span in spans.get_finished_spans()
                  if "SELECT 1" in str(span.attributes.get("db.statement", ""))]
    assert len(statements) == 2


async def test_exported_spans_carry_the_route_template_but_no_path_address_user_agent_or_error_text(
        spans: InMemorySpanExporter, tmp_path: Path) -> None:
    app = FastAPI()

    @app.get("/recognitions/{number}")
    async def recognition(number: str) -> dict[str, str]:
        raise ValueError(f"cannot store {number}")

    path = tmp_path / "traces.jsonl"
    file_exporter = PrivateSpanExporter(JsonLinesSpanExporter(path))
    setup_telemetry(service_name="telemetry-test", app=app, span_processor=SimpleSpanProcessor(file_exporter))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("203.0.113.77", 50123))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/recognitions/V-SENTINEL-42?q=V-SENTINEL-42",
                         headers={"user-agent": "SentinelBrowser/1.0", "x-forwarded-for": "198.51.100.9"})

    written = path.read_text()
    server = next(json.loads(line) for line in written.splitlines() if json.loads(line)["kind"] == "SERVER")
    assert server["name"] == "GET /recognitions/{number}"
    assert server["attributes"]["http.route"] == "/recognitions/{number}"
    for secret in ("V-SENTINEL-42", "203.0.113.77", "198.51.100.9", "SentinelBrowser"):
        assert secret not in written, secret
    unfiltered = json.dumps([dict(span.attributes or {}) for span in spans.get_finished_spans()])
    assert "203.0.113.77" in unfiltered, "the test must reach the instrumentation that records the address"


def test_the_trace_file_is_its_owners_only_rotated_past_its_size_and_purged_by_age(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    exporter = JsonLinesSpanExporter(path, max_bytes=2_000, max_age_s=3600)
    provider = TracerProvider(resource=Resource.create({"service.name": "intake"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    for index in range(40):
        with tracer.start_as_current_span(f"span {index}"):
            pass
    with tracer.start_as_current_span("after"):
        pass
    assert path.stat().st_mode & 0o777 == 0o600
    rotated = exporter.rotated_files()
    assert rotated, "past max_bytes the file is rotated"
    assert all(file.stat().st_size < 4_000 for file in [path, *rotated])
    old = rotated[0]
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    JsonLinesSpanExporter(path, max_bytes=2_000, max_age_s=3600)
    assert not old.exists() and rotated[-1].exists()


def test_the_standard_otlp_variable_sends_spans_to_the_collector(
        tmp_path: Path, collector: tuple[str, list[tuple[str, bytes]]]) -> None:
    endpoint, received = collector
    # A process of its own: the tracer provider and its exporters are process-wide.
    program = ("from verbinding_common.telemetry import get_tracer, setup_telemetry, shutdown_telemetry\n"
               "setup_telemetry(service_name='compose-check')\n"
               "with get_tracer('check').start_as_current_span('collector-bound span'):\n"
               "    pass\n"
               "shutdown_telemetry()\n")
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
    env.pop("VERBINDING_OTLP_ENDPOINT", None)
    subprocess.run([sys.executable, "-c", program], env=env, cwd=tmp_path, check=True, timeout=60)
    assert [path for path, _ in received] == ["/v1/traces"]
    assert b"collector-bound span" in received[0][1] and b"compose-check" in received[0][1]
