"""Calls to the services behind the gateway, each carrying the caller's identity signed by the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Depends, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from verbinding_common.auth import Identity, IdentitySigner
from verbinding_common.errors import Unavailable
from verbinding_common.idempotency import HEADER


class ServiceUnavailable(Unavailable):
    """A service behind the gateway did not answer (refused, timed out, broke the connection): 503 + Retry-After."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} unavailable")
        self.service, self.reason = service, reason

    def __str__(self) -> str:
        return f"{self.service} unavailable: {self.reason}"


@dataclass(frozen=True)
class Downstream:
    """One service behind the gateway, reached through the gateway's shared HTTP client."""

    name: str
    base_url: str
    http: httpx.AsyncClient
    signer: IdentitySigner
    timeout_s: float

    async def request(self, method: str, path: str, *, identity: Identity, json: Any = None,
                      params: Any = None, timeout_s: float | None = None,
                      headers: Mapping[str, str] | None = None) -> httpx.Response:
        """Send one request as `identity` (with `headers`, e.g. the client's Idempotency-Key), bounded in total by
        `timeout_s`; ServiceUnavailable when it fails."""
        limit = timeout_s or self.timeout_s
        try:
            async with asyncio.timeout(limit):
                return await self.http.request(method, self.base_url.rstrip("/") + path, json=json, params=params,
                                               headers={**(headers or {}),
                                                        **self.signer.headers(identity, audience=self.name)})
        except TimeoutError:
            raise ServiceUnavailable(self.name, "no answer in time") from None
        except httpx.TransportError as exc:
            raise ServiceUnavailable(self.name, exc.__class__.__name__) from None

    async def forward(self, request: Request, caller: Identity, method: str, path: str,
                      body: BaseModel | dict[str, Any] | None = None) -> Response:
        """Forward the caller's request (its query, its Idempotency-Key, and the body as sent) and answer as the
        service did."""
        json: Any = body.model_dump(mode="json", exclude_unset=True) if isinstance(body, BaseModel) else body
        answer = await self.request(method, path, identity=caller, json=json,
                                    params=list(request.query_params.multi_items()) or None,
                                    headers=idempotency_key_of(request))
        return passed_through(answer, self.name)


def idempotency_key_of(request: Request) -> dict[str, str]:
    """The client's Idempotency-Key, to send on with a write: the service that owns the record keeps the answer."""
    key = request.headers.get(HEADER)
    return {HEADER: key} if key is not None else {}


def segment(value: object) -> str:
    """A path parameter made safe to put into a downstream URL."""
    return quote(str(value), safe="")


def passed_through(response: httpx.Response, service: str) -> Response:
    """The downstream answer as the gateway's own: its status and body, 4xx details included."""
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        # The caller's token was fine (the gateway checked it): the service refused the gateway itself.
        return JSONResponse({"detail": f"{service} did not accept the gateway's identity"},
                            status_code=status.HTTP_502_BAD_GATEWAY)
    if response.status_code == status.HTTP_204_NO_CONTENT or not response.content:
        return Response(status_code=response.status_code)
    return Response(content=response.content, status_code=response.status_code,
                    media_type=response.headers.get("content-type", "application/json"))


def intake(request: Request) -> Downstream:
    return request.app.state.intake


def case_plan(request: Request) -> Downstream:
    return request.app.state.case_plan


def employment(request: Request) -> Downstream:
    return request.app.state.employment
def safe_reporting(request: Request) -> Downstream:
    return request.app.state.safe_reporting


IntakeDep = Annotated[Downstream, Depends(intake)]
CasePlanDep = Annotated[Downstream, Depends(case_plan)]
EmploymentDep = Annotated[Downstream, Depends(employment)]
SafeReportingDep = Annotated[Downstream, Depends(safe_reporting)]
