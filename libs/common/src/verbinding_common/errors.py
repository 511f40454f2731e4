"""Domain errors every service raises, and how every app answers them and its own outages (problem+json)."""

from __future__ import annotations

import logging
import traceback
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .failures import outage_of, safe_description
from .input_guard import route_template

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """A request the service refuses: answered with `status_code` and `detail` (which must name no personal data)."""

    status_code = HTTPStatus.BAD_REQUEST
    headers: dict[str, str] | None = None
    # Further members of the problem body (RFC 9457 extension members), e.g. the id of the record in the way.
    extensions: dict[str, Any] | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """No such record, or not one the caller may see (both answer alike)."""

    status_code = HTTPStatus.NOT_FOUND


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    status_code = HTTPStatus.FORBIDDEN


class Conflict(DomainError):
    """The record's current state does not allow this (already closed, already exists, a stale version).

    When a record is in the way (the one that already exists), `existing_id` names it in the body and `location`
    (best a relative reference such as "placements/<id>", which resolves right behind any prefix) in a Location
    header, so a client that retried a write it never heard back from finds what it has."""

    status_code = HTTPStatus.CONFLICT

    def __init__(self, detail: str, *, existing_id: object | None = None, location: str | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail)
        if existing_id is not None:
            extensions["existing_id"] = str(existing_id)
        self.extensions = extensions or None
        if location is not None:
            self.headers = {"Location": location}


class RuleViolated(DomainError):
    """The request is well-formed but breaks a domain rule."""

    status_code = HTTPStatus.UNPROCESSABLE_ENTITY


class Unavailable(DomainError):
    """Something this request needs cannot be reached now: 503, try again after `retry_after_s`."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, detail: str, *, retry_after_s: int = 5) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_s)}


def problem(status_code: int, detail: str, *, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    """A problem-style (RFC 9457) JSON answer; `detail` kept at the top level as FastAPI's own errors have it."""
    body = {"type": "about:blank", "title": HTTPStatus(status_code).phrase, "status": status_code,
            "detail": detail, **extra}
    return JSONResponse(body, status_code=status_code, headers=headers, media_type=PROBLEM_JSON)


async def domain_error_response(request: Request, exc: Exception) -> JSONResponse:
    """The answer to a DomainError raised by a route, a dependency or a service function."""
    assert isinstance(exc, DomainError)
    return problem(int(exc.status_code), exc.detail, headers=exc.headers, **(exc.extensions or {}))


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database or broker cannot serve now, rather than a bug or bad input:
    the same test the consumers use to wait an outage out."""
    return outage_of(exc) is not None


class ErrorResponses:
    """ASGI middleware: an outage answers 503 + Retry-After, anything else unexpected a generic 500, both from here.

    Starlette's ServerErrorMiddleware answers a 500 and then re-raises, and uvicorn closes the client's keep-alive
    connection on an exception it sees; this answers instead, so the exception never reaches the server.
    """

    def __init__(self, app: ASGIApp, *, retry_after_s: int = 5) -> None:
        self.app = app
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            if started:  # half a response is out: nothing honest can follow it
                raise
            response = self._answer(scope, exc)
            await response(scope, receive, send)

    def _answer(self, scope: Scope, exc: Exception) -> JSONResponse:
        span = trace.get_current_span()
        trace_id = format(span.get_span_context().trace_id, "032x")
        # The type only: an error's text can carry a statement's parameters, i.e. personal data.
        span.set_status(Status(StatusCode.ERROR, exc.__class__.__name__))
        route = route_template(scope)
        if (outage := outage_of(exc)) is not None:
            log.warning("%s %s answered 503: %s (trace %s)", scope.get("method"), route, safe_description(exc),
                        trace_id)
            detail = ("the request could not finish in time beside the others and was stopped: nothing was done; "
                      "try again later") if outage == "contention" else \
                "a database or broker this service needs is unavailable; try again later"
            return problem(503, detail, headers={"Retry-After": str(self.retry_after_s)}, trace_id=trace_id)
        log.error("%s %s answered 500: %s (trace %s)\n%s", scope.get("method"), route, safe_description(exc),
                  trace_id, "".join(traceback.format_tb(exc.__traceback__)))
        return problem(500, "internal error", trace_id=trace_id)
