"""The gateway's OpenAPI document names every status code a route can give, not only its success."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_PROBLEM = {
    "title": "Problem",
    "type": "object",
    "properties": {"detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]}},
}

# Every route: the library's input guard answers these before any route runs.
_EVERY_ROUTE = {
    "413": "the request body is larger than the configured limit (checked before anything reads it)",
    "422": "invalid input: each error names where (path, query, body field), never the value",
}
# Routes behind a bearer token.
_PROTECTED = {
    "401": "no valid bearer token",
    "403": "the caller's role is not allowed here",
    "503": "a service behind the gateway (or the token issuer) did not answer in time; retry after `Retry-After`",
}
# Routes answered by a service behind the gateway: its answers pass through.
_FORWARDED = {
    "404": "no such record, or not the caller's",
    "409": "the record's state does not allow this",
    "502": "the service did not accept the gateway's identity",
    "503": "the service behind the gateway could not be reached, or said it cannot serve now: nothing was done; "
           "retry after `Retry-After`",
}
# Writes answered by a service behind the gateway: cut off after they left, their outcome is unknown.
_FORWARDED_WRITE = {
    "504": "the service did not answer in time and may have carried the request out: send it again with the same "
           "`Idempotency-Key` to learn its outcome",
}
_WRITES = frozenset({"post", "put", "patch", "delete"})


def document_every_answer(app: FastAPI) -> None:
    """Make `app.openapi()` list the error answers every route can give (the document is built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = _PROBLEM
            for path, operations in document.get("paths", {}).items():
                for method, operation in operations.items():
                    _add_answers(path, method, operation)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_PROBLEM_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _add_answers(path: str, method: str, operation: dict[str, Any]) -> None:
    answers = dict(_EVERY_ROUTE)
    if operation.get("security"):
        answers |= _PROTECTED
    if path.startswith("/api/v1/") and not (method == "post" and path == "/api/v1/coa/status-recognitions") \
            and (operation.get("security") or path.startswith("/api/v1/safe-reports")):
        answers |= _FORWARDED
        if method in _WRITES:
            answers |= _FORWARDED_WRITE
    responses = operation.setdefault("responses", {})
    for code, description in answers.items():
        responses.setdefault(code, {"description": description, "content": _PROBLEM_CONTENT})
