"""Every write of every service, and of the gateway, honours Idempotency-Key and says so in its OpenAPI document."""

from __future__ import annotations

import importlib

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from verbinding_common.idempotency import HEADER, MUTATING_METHODS, REPLAYED_HEADER, is_idempotent

SERVICES = ["intake", "case_plan", "employment", "shelter_placement", "safe_reporting", "gateway"]
# Writes that are not writes: the token endpoint issues a token and stores nothing (OAuth clients do not send keys).
EXEMPT = {("gateway", "POST", "/oauth/token")}


def app_of(package: str) -> FastAPI:
    return importlib.import_module(f"{package}.main").create_app()


def writes(app: FastAPI) -> list[tuple[str, str, object]]:
    # FastAPI 0.165 keeps included routers as one entry in app.routes: their routes are reached this way.
    return [(method, context.path, context.original_route) for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute)
            for method in sorted(MUTATING_METHODS.intersection(context.methods or ()))]


@pytest.mark.parametrize("package", SERVICES)
def test_every_mutating_route_is_idempotent(package: str) -> None:
    found = writes(app_of(package))
    assert found, f"{package} has no writes: the walk found nothing"
    assert [f"{method} {path}" for method, path, route in found
            if not is_idempotent(route) and (package, method, path) not in EXEMPT] == []


@pytest.mark.parametrize("package", SERVICES)
def test_every_mutating_operation_documents_the_header_and_its_answers(package: str) -> None:
    app = app_of(package)
    missing = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if method.upper() not in MUTATING_METHODS or (package, method.upper(), path) in EXEMPT:
                continue
            names = [parameter["name"] for parameter in operation.get("parameters", [])]
            replay_documented = any(REPLAYED_HEADER in answer.get("headers", {})
                                    for code, answer in operation["responses"].items() if code.startswith("2"))
            if HEADER not in names or not {"400", "409", "422"} <= set(operation["responses"]) \
                    or not replay_documented:
                missing.append(f"{method.upper()} {path}")
    assert missing == []
