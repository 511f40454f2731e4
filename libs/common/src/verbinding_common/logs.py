"""One logging setup for every service: JSON lines (time, level, service, logger, message, trace and span id), and
the same records by OTLP where a collector is configured."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from typing import Literal, TextIO

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.trace import format_span_id, format_trace_id

LogFormat = Literal["json", "console"]

# uvicorn gives these handlers of its own and stops them propagating; here they join the root's one handler.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonLinesFormatter(logging.Formatter):
    """One JSON object a line. The message is the logger's own text: call sites name route templates, ids and error
    types, never values (the privacy rules of telemetry hold here too), and a traceback keeps only the error's type."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_trace_ids())
        if record.exc_info and record.exc_info[0] is not None:
            # Exception texts can quote input values (a COA number, a name): only the type is kept.
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """The same fields, readable on a terminal: `time LEVEL logger: message [trace]`."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        ids = _trace_ids()
        trace_part = f" [trace {ids['trace_id']}]" if ids else ""
        error = f" ({record.exc_info[0].__name__})" if record.exc_info and record.exc_info[0] is not None else ""
        return (f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.levelname:<7} "
                f"{record.name}: {record.getMessage()}{error}{trace_part}")


class _ServiceHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler setup_logging installs: found again (and replaced) by a second call. Without a stream of its
    own it writes to whatever sys.stderr is at the time (a test runner swaps it per test)."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream)
        self._own_stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = self._own_stream or sys.stderr
        super().emit(record)


def setup_logging(*, service_name: str, log_format: LogFormat = "json", level: int | str = logging.INFO,
                  stream: TextIO | None = None, otlp_endpoint: str | None = None,
                  otlp_exporter: LogRecordExporter | None = None) -> logging.Handler:
    """Send every log record of the process (uvicorn's included) as one line to stderr, INFO and above; and by OTLP
    too when a collector is named (`otlp_endpoint`, else OTEL_EXPORTER_OTLP_ENDPOINT; a test hands an exporter).

    Safe to call again: the handlers of an earlier call are replaced, other handlers (a test's capture) are kept.
    """
    handler = _ServiceHandler(stream)
    handler.setFormatter(JsonLinesFormatter(service_name) if log_format == "json" else ConsoleFormatter(service_name))
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _ServiceHandler | OtlpLogHandler)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    otlp_endpoint = otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
    if otlp_exporter is not None or otlp_endpoint:
        root.addHandler(OtlpLogHandler(_log_provider(service_name, otlp_endpoint, otlp_exporter)))
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        for existing in list(logger.handlers):
            logger.removeHandler(existing)
        logger.propagate = True
    # aiokafka's INFO is a line per group join and reconnect; its warnings and errors stay. httpx's INFO is a line per
    # call naming the full URL (a person's id, a COA number in the path): never at INFO.
    for name in ("aiokafka", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


class OtlpLogHandler(logging.Handler):
    """The JSON line's fields as an OTLP log record: the message as its body, the logger as its scope, level, time,
    the current trace and span, and `error.type` for an exception. Never the exception's text or traceback (the
    SDK's own handler sends both) nor a record's extra fields: what leaves by OTLP is what the JSON line shows."""

    # The exporter's own failures and its HTTP client's lines would feed back into the exporter.
    _SKIPPED = ("opentelemetry", "urllib3", "requests")

    def __init__(self, provider: LoggerProvider) -> None:
        super().__init__()
        self.provider = provider

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(self._SKIPPED):
            return
        try:
            attributes = {"error.type": record.exc_info[0].__name__} \
                if record.exc_info and record.exc_info[0] is not None else None
            self.provider.get_logger(record.name).emit(
                timestamp=int(record.created * 1e9), context=otel_context.get_current(),
                severity_number=_SEVERITIES.get(record.levelno, SeverityNumber.UNSPECIFIED),
                severity_text=record.levelname, body=record.getMessage(), attributes=attributes)
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        self.provider.force_flush()


_SEVERITIES = {logging.DEBUG: SeverityNumber.DEBUG, logging.INFO: SeverityNumber.INFO,
               logging.WARNING: SeverityNumber.WARN, logging.ERROR: SeverityNumber.ERROR,
               logging.CRITICAL: SeverityNumber.FATAL}
_providers_lock = threading.Lock()
_providers: dict[tuple[str, object], LoggerProvider] = {}


def _log_provider(service_name: str, endpoint: str | None, exporter: LogRecordExporter | None) -> LoggerProvider:
    """One provider (and one batching thread) per service and collector: setup_logging may run again in a process.
    It flushes what it holds when the process exits."""
    key = (service_name, id(exporter) if exporter is not None else endpoint)
    with _providers_lock:
        if (provider := _providers.get(key)) is None:
            provider = LoggerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
            provider.add_log_record_processor(BatchLogRecordProcessor(
                exporter or OTLPLogExporter(endpoint=_logs_url(str(endpoint)))))
            _providers[key] = provider
        return provider


def _logs_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/logs") else f"{endpoint.removesuffix('/v1/traces')}/v1/logs"


def _trace_ids() -> dict[str, str]:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format_trace_id(context.trace_id), "span_id": format_span_id(context.span_id)}


def _utc(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"
