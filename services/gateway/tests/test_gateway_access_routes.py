"""Every route's role allow-list, tried with every role and with no token; trace ids and the OpenAPI document."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from gateway.main import create_app
from gateway.mounted import declarations, operations
from gateway_support import ALEMBIC_INI, bearer, gateway_settings

from verbinding_common.auth import (
    OPEN_PATHS,
    Role,
    allowed_roles,
    generate_signing_key,
    routes_without_allow_list,
)
from verbinding_testing.fixtures import create_migrated_database, drop_database, running_app


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, frozenset[Role] | None, bool]]:
    """(method, path, allowed roles, public?) of every API route, included routers walked into."""
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or context.path in OPEN_PATHS:
            continue
        public = any(getattr(call, "is_public", False) for call in _calls(context.dependant.dependencies))
        for method in sorted(context.methods):
            yield method, context.path, allowed_roles(context), public


def _calls(dependencies) -> Iterator:
    for dependency in dependencies:
        yield dependency.call
        yield from _calls(dependency.dependencies)


# Built only to list the routes: nothing connects until a lifespan starts.
CATALOGUE = create_app(gateway_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
                                        bootstrap_servers="127.0.0.1:1",
                                        private_identity_pem=generate_signing_key()[0]))
ROUTES = sorted(api_routes(CATALOGUE))
CALLERS = [None, *Role]
# The gateway's own routes: what only the door does (tokens and keys, the COA push and its status, the composed
# overview). Everything else is mounted from a service's published declaration.
OWN_ROUTES = {
    ("POST", "/oauth/token"), ("GET", "/.well-known/jwks.json"),
    ("POST", "/api/v1/coa/status-recognitions"), ("GET", "/api/v1/coa/status-recognitions/{coa_registration_number}"),
    ("GET", "/api/v1/persons/{person_id}/overview"),
}
PUBLISHED = operations(declarations())
EXPECTED_ROUTES = OWN_ROUTES | {(operation.method, operation.public_path) for operation in PUBLISHED}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: "1" if match.group(1) == "version" else f"{match.group(1)}-1", path)


@pytest.fixture(scope="module")
async def gateway(postgres_server_url: str, kafka_server, identity_keys):
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = await create_migrated_database(postgres_server_url, name, ALEMBIC_INI)
    app = create_app(gateway_settings(database_url=url, bootstrap_servers=kafka_server.bootstrap_servers,
                                      private_identity_pem=identity_keys[0]))
    try:
        async with running_app(app) as client:
            yield app, client
    finally:
        await drop_database(postgres_server_url, name)


def test_every_route_declares_an_allow_list() -> None:
    assert routes_without_allow_list(CATALOGUE) == []
    # The audit walks into included routers (they are one entry in app.routes on FastAPI 0.165).
    leaky, router = FastAPI(), APIRouter()
    router.get("/leaky")(lambda: None)
    leaky.include_router(router, prefix="/api")
    assert routes_without_allow_list(leaky) == ["['GET'] /api/leaky"]
    undeclared = [f"{method} {path}" for method, path, roles, _ in ROUTES if roles is None]
    assert undeclared == []
    assert {(method, path) for method, path, _, _ in ROUTES} == EXPECTED_ROUTES
    public = sorted(path for _, path, _, is_public in ROUTES if is_public)
    # Public on purpose: the token endpoint, its keys, and what a service declares for the reporter (anonymous safe
    # reporting: no account, no token).
    assert public == sorted(["/.well-known/jwks.json", "/oauth/token",
                             *(operation.public_path for operation in PUBLISHED if operation.anonymous)])
    assert "/api/v1/safe-reporting/reports/follow-up" in public


def test_a_mounted_route_allows_exactly_the_roles_its_service_declares() -> None:
    declared = {(operation.method, operation.public_path): frozenset(Role(role) for role in operation.roles)
                for operation in PUBLISHED if not operation.anonymous}
    mounted = {(method, path): roles for method, path, roles, _ in ROUTES if (method, path) in declared}
    assert mounted == declared


@pytest.mark.parametrize("caller", CALLERS, ids=lambda caller: str(caller or "no-token"))
@pytest.mark.parametrize(("method", "path", "allowed", "public"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
async def test_route_answers_401_without_token_403_for_other_roles_and_lets_allowed_roles_through(
        gateway, method: str, path: str, allowed: frozenset[Role], public: bool, caller: Role | None) -> None:
    app, client = gateway
    headers = bearer(app, caller, subject=f"{caller}-1", organisation="HVO-Querido") if caller else {}
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    if path.endswith("/stream"):  # a malformed Last-Event-ID answers 422 where the stream would never end
        headers["Last-Event-ID"] = "not-a-position"
    response = await client.request(method, concrete(path), headers=headers, **body)
    assert response.status_code != 500, response.text
    if public:
        assert response.status_code not in (401, 403), response.text
    elif caller is None:
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    elif caller not in allowed:
        assert response.status_code == 403, response.text
    else:
        # Through the allow-list; intake and case-plan are down here, so 503 (or 404/422 from the gateway itself).
        assert response.status_code not in (401, 403), response.text


async def test_every_response_carries_a_trace_id(gateway) -> None:
    """Health probes are left untraced by the shared telemetry on purpose; everything else names its trace."""
    app, client = gateway
    responses = [await client.get("/api/v1/case-plan/caseload"),
                 await client.get("/api/v1/case-plan/caseload", headers=bearer(app, Role.case_manager)),
                 await client.post("/api/v1/coa/status-recognitions", json={}, headers=bearer(app, "coa_integration")),
                 await client.get("/no/such/route"), await client.get("/.well-known/jwks.json")]
    assert [response.status_code for response in responses] == [401, 503, 422, 404, 200]
    for response in responses:
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-trace-id"])


async def test_openapi_documents_the_public_api_with_tags_summaries_and_bearer_auth(gateway) -> None:
    _, client = gateway
    assert (await client.get("/docs")).status_code == 200
    document = (await client.get("/openapi.json")).json()
    operations = [(path, method, operation) for path, item in document["paths"].items()
                  for method, operation in item.items()]
    assert len(operations) == len(ROUTES) + 2  # + /healthz and /readyz
    for path, method, operation in operations:
        assert operation.get("tags"), (method, path)
        assert operation.get("summary"), (method, path)
    push = document["paths"]["/api/v1/coa/status-recognitions"]["post"]
    assert "oneOf" in push["requestBody"]["content"]["application/json"]["schema"]
    assert "application/x-www-form-urlencoded" in document["paths"]["/oauth/token"]["post"]["requestBody"]["content"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
