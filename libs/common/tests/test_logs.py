"""Log lines: one JSON object each, with time, level, service, logger, message, and the trace of the request."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from verbinding_common.app import create_service_app
from verbinding_common.logs import OtlpLogHandler, setup_logging
from verbinding_common.telemetry import TRACE_ID_HEADER, get_tracer, setup_telemetry
from verbinding_testing.fixtures import test_settings

SECRET = "Amal Haddad V-123456"
router = APIRouter()


@router.get("/cases/{case_id}/notes")
async def noted(case_id: str) -> dict[str, bool]:
    logging.getLogger("example.cases").info("read the notes of a case")
    return {"ok": True}


@pytest.fixture(autouse=True)
def tracing() -> None:
    setup_telemetry(service_name="logs-test")


def lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_line_is_json_with_level_service_logger_and_the_current_trace(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(service_name="intake")
    with get_tracer("test").start_as_current_span("work") as span:
        logging.getLogger("intake.persons").info("registered %d person(s)", 2)
    context = span.get_span_context()

    [line] = [line for line in lines(capsys.readouterr().err) if line["logger"] == "intake.persons"]
    assert line["level"] == "INFO" and line["service"] == "intake" and line["message"] == "registered 2 person(s)"
    assert line["trace_id"] == f"{context.trace_id:032x}" and line["span_id"] == f"{context.span_id:016x}"
    assert str(line["time"]).endswith("Z")


def test_an_exception_keeps_its_type_never_its_text(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(service_name="intake")
    try:
        raise ValueError(f"no person named {SECRET}")
    except ValueError:
        logging.getLogger("intake.persons").exception("registration failed")

    err = capsys.readouterr().err
    [line] = [line for line in lines(err) if line["logger"] == "intake.persons"]
    assert line["error"] == "ValueError" and SECRET not in err


def test_console_format_is_readable_and_names_the_trace(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(service_name="intake", log_format="console")
    with get_tracer("test").start_as_current_span("work") as span:
        logging.getLogger("intake.persons").warning("waiting on its database")

    err = capsys.readouterr().err
    assert "WARNING intake.persons: waiting on its database" in err
    assert f"[trace {span.get_span_context().trace_id:032x}]" in err


async def test_a_service_logs_json_at_info_carrying_its_requests_trace_id(capsys: pytest.CaptureFixture[str]) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    settings = test_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
                             bootstrap_servers="127.0.0.1:1", service_name="logs-test")
    app = create_service_app(settings=settings, title="logs", routers=[router])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/cases/V-123456/notes")

    [line] = [line for line in lines(capsys.readouterr().err) if line["logger"] == "example.cases"]
    assert line["service"] == "logs-test" and line["level"] == "INFO"
    assert line["trace_id"] == response.headers[TRACE_ID_HEADER]


def test_http_client_lines_naming_full_urls_are_not_kept_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(service_name="gateway")
    logging.getLogger("httpx").info("HTTP Request: GET http://intake/persons/%s", SECRET)
    logging.getLogger("gateway.overview").info("overview composed")

    err = capsys.readouterr().err
    assert "overview composed" in err and SECRET not in err


def test_with_a_collector_configured_each_line_also_leaves_by_otlp_with_its_trace_and_no_exception_text(
        collector: tuple[str, list[tuple[str, bytes]]], monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    setup_logging(service_name="intake")  # the standard variable, as compose and the manifests set it
    try:
        with get_tracer("test").start_as_current_span("work") as span:
            logging.getLogger("intake.persons").info("registered %d person(s)", 2)
            try:
                raise ValueError(f"no person named {SECRET}")
            except ValueError:
                logging.getLogger("intake.persons").exception("registration failed")
        logging.getLogger("opentelemetry.exporter.otlp").warning("export failed")  # never fed back to the exporter
        [handler] = [h for h in logging.getLogger().handlers if isinstance(h, OtlpLogHandler)]
        handler.flush()
    finally:
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")
        setup_logging(service_name="intake")
    assert not [h for h in logging.getLogger().handlers if isinstance(h, OtlpLogHandler)], "a second call replaces it"

    assert {path for path, _ in received} == {"/v1/logs"}
    assert all(SECRET.encode() not in body for _, body in received)
    records, services = [], set()
    for _, body in received:
        request = ExportLogsServiceRequest.FromString(body)
        for resource_logs in request.resource_logs:
            services |= {a.value.string_value for a in resource_logs.resource.attributes if a.key == "service.name"}
            records += [(scope.scope.name, record)
                        for scope in resource_logs.scope_logs for record in scope.log_records]
    assert services == {"intake"}
    ours = {record.body.string_value: (scope, record) for scope, record in records}
    assert set(ours) == {"registered 2 person(s)", "registration failed"}, "the exporter's own lines stay out"
    scope, info = ours["registered 2 person(s)"]
    assert scope == "intake.persons" and info.severity_text == "INFO"
    assert info.trace_id.hex() == f"{span.get_span_context().trace_id:032x}"
    assert info.span_id.hex() == f"{span.get_span_context().span_id:016x}"
    _, failed = ours["registration failed"]
    assert {a.key: a.value.string_value for a in failed.attributes} == {"error.type": "ValueError"}
    assert failed.severity_text == "ERROR"
