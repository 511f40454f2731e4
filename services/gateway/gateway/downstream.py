"""Calls to the services behind the gateway, each carrying the caller's identity signed by the gateway."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Depends, Request, status
from fastapi.responses import JSONResponse, Response

from verbinding_common.auth import Identity, IdentitySigner
from verbinding_common.errors import Unavailable
from verbinding_common.idempotency import HEADER

# Methods that change something: when one of these is cut off after it left, the service may have acted.
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IDEMPOTENCY_KEY = HEADER
# What a service says beside its status and body that the client needs: when to come back, where the record is,
# and that an answer is the replay of an earlier one.
PASSED_HEADERS = ("Retry-After", "Idempotent-Replayed")


class ServiceUnavailable(Unavailable):
    """A service behind the gateway certainly did nothing: it could not be reached, or a read found no answer in
    time. 503 + Retry-After."""

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
    """One service behind the gateway, reached through a few HTTP clients taken in turn."""

    name: str
    base_url: str
    clients: tuple[httpx.AsyncClient, ...]
    signer: IdentitySigner
    timeout_s: float
    _turn: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @property
    def http(self) -> httpx.AsyncClient:
        return self.clients[next(self._turn) % len(self.clients)]

    async def request(self, method: str, path: str, *, identity: Identity, json: Any = None,
                      content: bytes | None = None, params: Any = None, timeout_s: float | None = None,
                      headers: dict[str, str] | None = None) -> httpx.Response:
        """Send one request as `identity`, bounded in total by `timeout_s`.

        ServiceUnavailable (503) when the service certainly did nothing: it could not be reached, or a read went
        unanswered. OutcomeUnknown (504) when a write may have reached it and no answer came.
        """
        limit = timeout_s or self.timeout_s
        sent = headers | self.signer.headers(identity, audience=self.name) if headers else \
            self.signer.headers(identity, audience=self.name)
        try:
            async with asyncio.timeout(limit):
                return await self.http.request(method, self.base_url.rstrip("/") + path, json=json, content=content,
                                               params=params, headers=sent)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # No connection to the service was made (or none was free): the request never left.
            raise ServiceUnavailable(self.name, exc.__class__.__name__) from None
        except TimeoutError:
            raise self._cut_off(method, "no answer in time") from None
        except httpx.TransportError as exc:
            raise self._cut_off(method, exc.__class__.__name__) from None

    async def open_stream(self, path: str, *, identity: Identity, params: Any = None) -> httpx.Response:
        """Open a GET whose answer is a stream (server-sent events): its status and headers within the deadline, its
        body as it comes, for as long as both ends stay. The caller closes it (`aclose`)."""
        http = self.http
        request = http.build_request("GET", self.base_url.rstrip("/") + path, params=params,
                                          headers=self.signer.headers(identity, audience=self.name),
                                          timeout=httpx.Timeout(self.timeout_s, read=None))
        try:
            async with asyncio.timeout(self.timeout_s):
                return await http.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ServiceUnavailable(self.name, exc.__class__.__name__) from None
        except TimeoutError:
            raise ServiceUnavailable(self.name, "no answer in time") from None
        except httpx.TransportError as exc:
            raise ServiceUnavailable(self.name, exc.__class__.__name__) from None

    def _cut_off(self, method: str, reason: str) -> ServiceUnavailable:
        return OutcomeUnknown(self.name, reason) if method.upper() in MUTATING else ServiceUnavailable(self.name,
                                                                                                      reason)


def client_headers(request: Request) -> dict[str, str]:
    """What the client sent that the service must see: its Idempotency-Key, on a write."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    return {IDEMPOTENCY_KEY: key} if key is not None and request.method in MUTATING else {}


def segment(value: object) -> str:
    """A path parameter made safe to put into a downstream URL."""
    return quote(str(value), safe="")


def passed_through(response: httpx.Response, service: str, prefix: str) -> Response:
    """The downstream answer as the gateway's own: its status and body, 4xx details included; a Location the service
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


def downstream(name: str) -> Any:
    """A route dependency: the service `name` behind the gateway."""

    async def of(request: Request) -> Downstream:
        return request.app.state.downstreams[name]

    return Depends(of)


IntakeDep = Annotated[Downstream, downstream("intake")]
CasePlanDep = Annotated[Downstream, downstream("case-plan")]
EmploymentDep = Annotated[Downstream, downstream("employment")]
