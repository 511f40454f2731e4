"""The gateway's OpenAPI document names every status code a route can give, not only its success."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from verbinding_common.downstream import answers_a_stream

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
# A stream: the gateway checks the caller and hands it off to the service (mounted.py).
_HANDED_OFF = {
    "description": "the stream is served by the service itself, not relayed through the gateway: follow `Location` "
                   "(the service's address, the same query and a ticket that stands for the caller for a minute; "
                   "send `Last-Event-ID` along). The service answers as described here under 200, 401, 403 and 422.",
    "headers": {"Location": {"schema": {"type": "string"}, "description": "where the stream is served"},
                "Cache-Control": {"schema": {"type": "string", "const": "no-store"}}},
}


def document_every_answer(app: FastAPI, published: list[dict[str, Any]]) -> None:
    """Make `app.openapi()` the gateway's own routes plus every service's public operations under its prefix, each
    listing the error answers it can give (the document is built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = _PROBLEM
            for path, operations in document.get("paths", {}).items():
                for method, operation in operations.items():
                    _add_answers(path, method, operation)
            for declaration in published:
                _merge(document, declaration)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_PROBLEM_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_REF = "#/components/schemas/"
_BEARER = [{"HTTPBearer": []}]
_BEARER_SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                  "description": "A token from POST /oauth/token (or the configured OIDC issuer)."}
_COUNTED = {"429": "too many reports from here (counted per sender, under an hourly-rotated keyed hash); retry "
                   "after `Retry-After`"}


def _merge(document: dict[str, Any], declaration: dict[str, Any]) -> None:
    """One service's public operations under its prefix, its schemas named `<service>.<Name>` so that two services'
    models of the same name stay apart: the body the gateway documents is the body the service validates."""
    service, prefix = declaration["service"], declaration["public_prefix"]
    document["components"]["schemas"].update({f"{service}.{name}": _renamed(schema, service)
                                              for name, schema in declaration["components"]["schemas"].items()})
    document["components"].setdefault("securitySchemes", {}).setdefault("HTTPBearer", _BEARER_SCHEME)
    for path, operations in _renamed(declaration["paths"], service).items():
        for method, operation in operations.items():
            operation["operationId"] = f"{service}.{operation.get('operationId', method + path)}"
            operation["tags"] = [service]
            anonymous = operation["x-roles"] == ["reporter"]
            if not anonymous:
                operation["security"] = _BEARER
            _add_answers(prefix + path, method, operation, forwarded=True)
            if anonymous and method == "post" and path == "/reports":
                _add_codes(operation, _COUNTED)
            if answers_a_stream(operation):
                operation["responses"]["307"] = _HANDED_OFF
            document["paths"].setdefault(prefix + path, {})[method] = operation


def _renamed(node: Any, service: str) -> Any:
    if isinstance(node, dict):
        renamed = {key: _renamed(value, service) for key, value in node.items()}
        if isinstance(renamed.get("$ref"), str) and renamed["$ref"].startswith(_REF):
            renamed["$ref"] = f"{_REF}{service}.{renamed['$ref'].removeprefix(_REF)}"
        return renamed
    if isinstance(node, list):
        return [_renamed(value, service) for value in node]
    return node


def _add_answers(path: str, method: str, operation: dict[str, Any], *, forwarded: bool = False) -> None:
    answers = dict(_EVERY_ROUTE)
    if operation.get("security"):
        answers |= _PROTECTED
    # The gateway's own routes that ask services (the overview, the COA status) pass their answers on as well.
    own_forwarding = path.startswith("/api/v1/") and operation.get("security") and \
        not (method == "post" and path == "/api/v1/coa/status-recognitions")
    if forwarded or own_forwarding:
        answers |= _FORWARDED
        if method in _WRITES:
            answers |= _FORWARDED_WRITE
    _add_codes(operation, answers)


def _add_codes(operation: dict[str, Any], answers: dict[str, str]) -> None:
    responses = operation.setdefault("responses", {})
    for code, description in answers.items():
        responses.setdefault(code, {"description": description, "content": _PROBLEM_CONTENT})
