"""The services' public routes, mounted from what each one declares (published/<service>.json, written by
`make routes`): one generic forwarding route per operation, at `<public prefix><service path>`.

Each route checks the bearer token against the operation's `x-roles`, then forwards method, path, query, the body's
raw bytes and the client's Idempotency-Key with the identity the gateway signs, and passes the answer through; a
stream is handed off instead (307 to the service's own address with a ticket for the caller, `Downstream.hand_off`).
The body is the service's to validate: the gateway documents exactly the schema the service checks (openapi.py). The
`reporter` role means public: no token, and the service sees only the anonymous reporter, the body and the key.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import Response

from verbinding_common.auth import Identity, Role
from verbinding_common.downstream import Downstream, answers_a_stream, client_headers, passed_through, segment
from verbinding_common.idempotency import IdempotentRoute

from .access.dependencies import current_caller, public, require

PUBLISHED = Path(__file__).parent / "published"
ANONYMOUS = Identity(subject="anonymous-reporter", kind="client", roles=[Role.reporter])
# Where the door itself counts senders: a new report. Only the gateway sees a sender's address (and keeps only an
# hourly-rotated keyed hash of it); the service's follow-up routes have a city-wide guess budget of their own.
COUNTED = frozenset({("safe-reporting", "POST", "/reports")})


@dataclass(frozen=True)
class Operation:
    """One public operation of a service, as its declaration names it."""

    service: str
    prefix: str
    method: str
    path: str  # the service's own path template
    roles: tuple[str, ...]
    streams: bool = False  # its answer is a stream of server-sent events: handed off to the service, not relayed
    query: frozenset[str] = frozenset()  # the query parameters it declares

    @property
    def public_path(self) -> str:
        return self.prefix + self.path

    @property
    def anonymous(self) -> bool:
        return self.roles == (Role.reporter.value,)


def declarations(directory: Path = PUBLISHED) -> list[dict[str, Any]]:
    """Every service's published declaration, by service name order."""
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]


def operations(published: list[dict[str, Any]]) -> list[Operation]:
    """Every public operation, static paths before parameters at the same place (as the service matches them)."""
    return [Operation(declaration["service"], declaration["public_prefix"], method.upper(), path,
                      tuple(operation["x-roles"]),
                      streams=answers_a_stream(operation),
                      query=frozenset(parameter["name"] for parameter in operation.get("parameters", [])
                                      if parameter["in"] == "query"))
            for declaration in published for path, methods in sorted(declaration["paths"].items())
            for method, operation in methods.items()]


def router(published: list[dict[str, Any]]) -> APIRouter:
    """One forwarding route per published operation; the OpenAPI document is merged from the declarations."""
    mounted = APIRouter(route_class=IdempotentRoute)
    for operation in operations(published):
        guard = public if operation.anonymous else require(*(Role(role) for role in operation.roles))
        mounted.add_api_route(operation.public_path, _forwarder(operation), methods=[operation.method],
                              dependencies=[Depends(guard)], include_in_schema=False,
                              name=f"{operation.service} {operation.method} {operation.path}")
    return mounted


def _forwarder(operation: Operation) -> Callable[[Request], Awaitable[Response]]:
    counted = (operation.service, operation.method, operation.path) in COUNTED

    async def forward(request: Request) -> Response:
        if counted and not await request.app.state.report_limiter.allow(request.client.host if request.client
                                                                         else None):
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "too many reports from here; try again later",
                                headers={"Retry-After": "600"})
        service: Downstream = request.app.state.downstreams[operation.service]
        path = operation.path.format(**{name: segment(value) for name, value in request.path_params.items()})
        body = await request.body()
        headers = client_headers(request)
        if body:
            headers["Content-Type"] = request.headers.get("content-type", "application/json")
        # A reporter's request carries nothing that could identify its sender: no query, no other header.
        query = None if operation.anonymous else list(request.query_params.multi_items()) or None
        if operation.streams:  # the Location carries the query the stream declares, nothing else the caller sent
            return service.hand_off(path, identity=current_caller(request),
                                    params=[(name, value) for name, value in query or [] if name in operation.query])
        answer = await service.request(operation.method, path, content=body or None, params=query, headers=headers,
                                       identity=ANONYMOUS if operation.anonymous else current_caller(request))
        return passed_through(answer, service.name, operation.prefix)

    return forward

