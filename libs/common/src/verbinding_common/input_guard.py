"""Hostile input refused with a 4xx before any route, dependency or database sees it, the same in every service."""

from __future__ import annotations

import contextvars
import json
import logging
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import ServiceSettings

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# For path, query and body fields stored in an INTEGER column (a BIGINT column is covered by the body check).
Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_route_template: contextvars.ContextVar[str] = contextvars.ContextVar("route_template", default="-")


class InputRefused(Exception):
    """One part of the request cannot be taken in; `where` names the part, never its value."""

    def __init__(self, where: list[str | int], kind: str, message: str) -> None:
        super().__init__(message)
        self.where, self.kind, self.message = where, kind, message


def check_json(raw: bytes, *, max_depth: int) -> None:
    """Refuse what is not JSON, JSON nested deeper than `max_depth`, strings with NUL, integers past int64, NaN
    and Infinity."""
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise InputRefused(["body"], "json_too_deep", f"JSON nested deeper than {max_depth} levels") from None
    except ValueError:
        # Not JSON (or not UTF-8): one answer for it everywhere, whatever parser the route would have used.
        raise InputRefused(["body"], "json_invalid", "the body is not valid JSON") from None
    stack: list[tuple[Any, list[str | int]]] = [(document, ["body"])]
    while stack:
        value, where = stack.pop()
        if len(where) - 1 > max_depth:
            raise InputRefused(where[:3], "json_too_deep", f"JSON nested deeper than {max_depth} levels")
        if isinstance(value, str):
            if "\x00" in value:
                raise InputRefused(where, "string_nul", "a NUL character cannot be stored")
        elif isinstance(value, bool) or value is None or isinstance(value, float):
            continue
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                raise InputRefused(where, "int_out_of_range", "an integer outside the 64-bit range")
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise InputRefused(where, "string_nul", "a NUL character in a member name")
                stack.append((item, [*where, key]))
        elif isinstance(value, list):
            stack.extend((item, [*where, index]) for index, item in enumerate(value))


def _refuse_constant(name: str) -> Any:
    raise InputRefused(["body"], "json_invalid", f"{name} is not a JSON number")


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"\x00" in unquote_to_bytes(raw)


class InputGuard:
    """ASGI middleware: body size (413, before parsing and authentication, chunked bodies too), NUL characters in
    path, query and body, JSON depth and integer range (422); hands the route template to the access log."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_depth: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_template(message: Message) -> None:
            if message["type"] == "http.response.start":
                # uvicorn writes its access line inside this send: it reads the template from here.
                _route_template.set(route_template(scope))
            await send(message)

        try:
            receive = await self._checked(scope, receive)
        except InputRefused as refused:
            await self._refuse(scope, receive, send_with_template, refused)
        else:
            await self.app(scope, receive, send_with_template)

    async def _checked(self, scope: Scope, receive: Receive) -> Receive:
        if "\x00" in scope["path"] or _has_nul(scope.get("raw_path") or b""):
            raise InputRefused(["path"], "string_nul", "a NUL character in the path")
        if _has_nul(scope.get("query_string") or b""):
            raise InputRefused(["query"], "string_nul", "a NUL character in the query")
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                raise InputRefused(["header", "content-length"], "invalid", "content-length is not a number")
            if int(length) > self.max_body_bytes:
                raise _TooLarge(self.max_body_bytes)
        if scope["method"] not in _BODY_METHODS and length is None and b"transfer-encoding" not in headers:
            return receive
        body = await self._read_body(receive)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if body and (content_type == b"application/json" or content_type.endswith(b"+json")):
            check_json(body, max_depth=self.max_json_depth)
        elif content_type == b"application/x-www-form-urlencoded" and _has_nul(body.replace(b"+", b" ")):
            raise InputRefused(["body"], "string_nul", "a NUL character in the form")
        return _replay(body, receive)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge(self.max_body_bytes)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, refused: InputRefused) -> None:
        if isinstance(refused, _Disconnected):
            return
        if isinstance(refused, _TooLarge):
            response = JSONResponse({"detail": refused.message}, status_code=413)
        else:
            response = JSONResponse({"detail": [{"type": refused.kind, "loc": refused.where, "msg": refused.message}]},
                                    status_code=422)
        await response(scope, receive, send)


class _TooLarge(InputRefused):
    def __init__(self, limit: int) -> None:
        super().__init__(["body"], "too_large", f"the request body is larger than {limit} bytes")


class _Disconnected(InputRefused):
    def __init__(self) -> None:
        super().__init__(["body"], "disconnected", "the client went away")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def route_template(scope: Scope) -> str:
    """The matched route's template (`/persons/{person_id}`), never the path itself: paths carry identifiers."""
    route = scope.get("route")
    return getattr(route, "path_format", None) or getattr(route, "path", None) or "(no route)"


def is_data_error(exc: BaseException) -> bool:
    """A value the database cannot hold (SQLSTATE class 22, or refused by asyncpg before sending): the request's
    fault, not the database's."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (asyncpg.DataError, asyncpg_base.DataError)):
            return True
        if str(getattr(seen, "sqlstate", None) or "").startswith("22"):
            return True
        seen = seen.__cause__ or getattr(seen, "orig", None)
    return False


async def _value_not_storable(request: Request, exc: Exception) -> Any:
    if not is_data_error(exc):
        return await _next_handler(request, exc, DBAPIError)
    # The error's text can quote the value (asyncpg does, whatever hide_parameters says): only its class goes out.
    return JSONResponse({"detail": [{"type": "value_not_storable", "loc": ["body"],
                                     "msg": "a value is out of range or holds a character that cannot be stored"}]},
                        status_code=422)


async def _next_handler(request: Request, exc: Exception, after: type[BaseException]) -> Any:
    """The handler the app would have used for `exc` had `after` no handler of ours (a 503 mapping, the 500)."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__[type(exc).__mro__.index(after) + 1:]:
        if cls in handlers:
            return await handlers[cls](request, exc)
    raise exc


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's default answer echoes the input (a name, a birth date): say where and what, never the value.
    assert isinstance(exc, RequestValidationError)
    errors = [{"type": error.get("type"), "loc": list(error.get("loc", ())), "msg": error.get("msg")}
              for error in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


class _TemplatedAccessLog(logging.Filter):
    """uvicorn's access line with the route template instead of the path, and no client address."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            _, method, _, version, status = record.args
            record.args = ("-", method, _route_template.get(), version, status)
        return True


def install_input_guard(app: FastAPI, settings: ServiceSettings) -> None:
    """Put the guard in front of every route; answer invalid input and database data errors with a 422 that
    names where, never the value."""
    app.add_middleware(InputGuard, max_body_bytes=settings.max_body_bytes, max_json_depth=settings.max_json_depth)
    app.add_exception_handler(DBAPIError, _value_not_storable)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, _TemplatedAccessLog) for existing in access.filters):
        access.addFilter(_TemplatedAccessLog())
