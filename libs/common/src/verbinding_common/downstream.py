"""Calling a service over HTTP with a signed identity, and passing its answer on as one's own.

A call says what its caller can know when no answer comes: 503 (`ServiceUnavailable`) when the request certainly
did nothing, 504 (`OutcomeUnknown`) when a write left and may have been carried out. The gateway uses it for every
service behind the door; anything that calls a service the same way shares the same answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from fastapi import Request, status
from fastapi.responses import JSONResponse, Response

from .auth import TICKET, Identity, IdentitySigner
from .errors import Unavailable
from .idempotency import HEADER as IDEMPOTENCY_KEY

# Methods that change something: when one of these is cut off after it left, the service may have acted.
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What a service says beside its status and body that the client needs: when to come back, and that an answer is
# the replay of an earlier one (Location is translated, see passed_through).
PASSED_HEADERS = ("Retry-After", "Idempotent-Replayed")
EVENT_STREAM = "text/event-stream"


def answers_a_stream(operation: dict[str, Any]) -> bool:
    """Whether an OpenAPI operation's success is a stream of server-sent events: the gateway hands such a route off
    to its service, documents the 307, and the service's pods are reachable from outside (one test, three users)."""
    return EVENT_STREAM in operation.get("responses", {}).get("200", {}).get("content", {})
# httpx's pool (httpcore 1.0) looks at every connection whenever a request starts or ends, and for each idle one at
# every connection again (its keep-alive check): quadratic in the pool's size. With a hundred concurrent calls to
# one service in one pool that was an eighth of the gateway's CPU; small pools, taken in turn, keep it short.
CLIENTS_PER_SERVICE = 10
CONNECTIONS_PER_CLIENT = 20
# One TLS context for every client: each httpx client otherwise loads the CA bundle into a context of its own, which
# for the gateway's 70 clients was 4.4 s of CPU at every start (over a minute on a loaded 2-core machine).
_tls_context = functools.cache(httpx.create_ssl_context)
# Errors that mean no connection to the service was made (or none was free): the request never left.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ServiceUnavailable(Unavailable):
    """A service certainly did nothing: it could not be reached, or a read found no answer in time. 503 +
    Retry-After."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} unavailable")
        self.service, self.reason = service, reason

    def __str__(self) -> str:
        return f"{self.service} unavailable: {self.reason}"


class OutcomeUnknown(ServiceUnavailable):
    """A write reached a service, which gave no answer in time: it may have been carried out. 504; the client
    learns the outcome by sending the same request again with the same Idempotency-Key."""

    status_code = HTTPStatus.GATEWAY_TIMEOUT

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(service, reason)
        self.detail = (f"{service} did not answer in time: the request may have been carried out. Send it again "
                       f"with the same {IDEMPOTENCY_KEY} header to learn its outcome (without one, check before "
                       "sending it again)")
        self.headers = {"Retry-After": "1"}


@dataclass(frozen=True)
class Downstream:
    """One service, reached through a few HTTP clients taken in turn, each call signed for its audience `name`."""

    name: str
    base_url: str
    clients: tuple[httpx.AsyncClient, ...]
    signer: IdentitySigner
    timeout_s: float
    public_url: str  # where clients reach the service's streams (`hand_off`); its base_url unless told
    _turn: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @classmethod
    async def open(cls, stack: contextlib.AsyncExitStack, name: str, base_url: str, *, signer: IdentitySigner,
                   timeout_s: float, public_url: str | None = None) -> Downstream:
        """The service `name` at `base_url`, its clients closed when `stack` closes."""
        limits = httpx.Limits(max_connections=CONNECTIONS_PER_CLIENT, max_keepalive_connections=CONNECTIONS_PER_CLIENT)
        clients = [await stack.enter_async_context(httpx.AsyncClient(
            verify=_tls_context(), timeout=httpx.Timeout(timeout_s), limits=limits))
            for _ in range(CLIENTS_PER_SERVICE)]
        return cls(name, base_url.rstrip("/"), tuple(clients), signer, timeout_s,
                   (public_url or base_url).rstrip("/"))

    @property
    def http(self) -> httpx.AsyncClient:
        return self.clients[next(self._turn) % len(self.clients)]

    async def request(self, method: str, path: str, *, identity: Identity, content: bytes | None = None,
                      params: Any = None, timeout_s: float | None = None,
                      headers: dict[str, str] | None = None) -> httpx.Response:
        """Send one request as `identity`, bounded in total by `timeout_s`.

        ServiceUnavailable (503) when the service certainly did nothing: it could not be reached, or a read went
        unanswered. OutcomeUnknown (504) when a write may have reached it and no answer came.
        """
        sent = (headers or {}) | self.signer.headers(identity, audience=self.name)
        try:
            async with asyncio.timeout(timeout_s or self.timeout_s):
                return await self.http.request(method, self.base_url + path, content=content, params=params,
                                               headers=sent)
        except _NOT_SENT as exc:
            raise ServiceUnavailable(self.name, exc.__class__.__name__) from None
        except (TimeoutError, httpx.TransportError) as exc:
            reason = "no answer in time" if isinstance(exc, TimeoutError) else exc.__class__.__name__
            unknown = OutcomeUnknown if method.upper() in MUTATING else ServiceUnavailable
            raise unknown(self.name, reason) from None

    def hand_off(self, path: str, *, identity: Identity, params: list[tuple[str, str]] | None) -> Response:
        """Send the caller to the service's own public address for a stream, with a ticket that stands for it.

        A stream is not relayed: its bytes would pass this process's event loop, chunk by chunk and client by
        client, beside every other answer it gives (the COA's pushes). The caller follows `Location` (307: a GET
        stays a GET, and `Last-Event-ID` goes along); the service checks the ticket (`allow(..., ticket=True)`)
        and the query, and serves the stream itself.
        """
        # A `ticket` the caller sent is dropped: the one the service reads is the one signed here.
        query = urlencode([*((name, value) for name, value in params or [] if name != TICKET),
                           (TICKET, self.signer.ticket(identity, audience=self.name))])
        return Response(status_code=status.HTTP_307_TEMPORARY_REDIRECT,
                        headers={"Location": f"{self.public_url}{path}?{query}", "Cache-Control": "no-store"})


def client_headers(request: Request) -> dict[str, str]:
    """What the client sent that the service must see: its Idempotency-Key, on a write."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    return {IDEMPOTENCY_KEY: key} if key is not None and request.method in MUTATING else {}


def segment(value: object) -> str:
    """A path parameter made safe to put into a downstream URL."""
    return quote(str(value), safe="")


def passed_through(response: httpx.Response, service: str, prefix: str) -> Response:
    """The downstream answer as the caller's own: its status and body, 4xx details included; a Location the service
    gives as an absolute path comes out under the service's public `prefix`."""
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        # The caller's token was fine (the gateway checked it): the service refused the gateway itself.
        return JSONResponse({"detail": f"{service} did not accept the gateway's identity"},
                            status_code=status.HTTP_502_BAD_GATEWAY)
    headers = {name: response.headers[name] for name in PASSED_HEADERS if name in response.headers}
    location = response.headers.get("location")
    if location is not None and "//" not in location and ":" not in location.split("/", 1)[0]:
        # A service names its records by its own paths; the client reaches them under the service's public prefix.
        # A relative reference resolves the same way on both; an absolute URL names an address inside the cluster
        # and never leaves.
        headers["Location"] = prefix + location if location.startswith("/") else location
    if response.status_code == status.HTTP_204_NO_CONTENT or not response.content:
        return Response(status_code=response.status_code, headers=headers)
    return Response(content=response.content, status_code=response.status_code, headers=headers,
                    media_type=response.headers.get("content-type", "application/json"))
