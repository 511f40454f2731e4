"""What every step of `make demo` stands on: the tour (a gateway client, the demo users' tokens, what the steps have
found so far), waiting for what travels between services, and a failed step's words."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

DEMO_PASSWORD = "demo"
WAIT_S = 90.0
T = TypeVar("T")


class StepFailed(Exception):
    """A step could not reach its end: what was expected, in words."""


def say(text: str = "") -> None:
    print(text, flush=True)


async def until(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = WAIT_S) -> T:
    """Ask again until `probe` answers something (events travel between services); StepFailed after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise StepFailed(f"no {what} after {timeout:.0f} s")
        await asyncio.sleep(0.3)


def ok(response: httpx.Response, *expected: int) -> Any:
    """The JSON of an answer with one of the `expected` statuses (201/200 by default)."""
    if response.status_code not in (expected or (200, 201)):
        raise StepFailed(f"{response.request.method} {response.request.url.path} answered "
                         f"{response.status_code}: {response.text[:300]}")
    return response.json() if response.content else None


@dataclass
class Tour:
    """One run of the demo: a client of the gateway, the demo users' tokens, and what the steps found so far."""

    api: httpx.AsyncClient
    run: str
    trace_file: Path
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    story: dict[str, Any] = field(default_factory=dict)

    def key(self) -> dict[str, str]:
        """An Idempotency-Key for one write: sent again, the write would be answered, not repeated."""
        return {"Idempotency-Key": str(uuid.uuid4())}

    async def post(self, who: str, path: str, body: Any, *expected: int) -> Any:
        return ok(await self.api.post(path, json=body, headers={**self.tokens[who], **self.key()}), *expected)

    async def get(self, who: str, path: str, *expected: int, **params: Any) -> Any:
        return ok(await self.api.get(path, headers=self.tokens[who], params=params), *expected)

    async def log_in(self) -> None:
        for user in ("tl-carla", "cm-anna", "cm-bram", "jh-eva", "pc-pieter", "hc-hana"):
            self.tokens[user] = await self._token(grant_type="password", username=user, password=DEMO_PASSWORD)
        self.tokens["coa"] = await self._token(grant_type="client_credentials", client_id="coa",
                                               client_secret="coa-demo-secret")
        self.tokens["ngo"] = await self._token(grant_type="client_credentials", client_id="ngo-hvo-querido",
                                               client_secret="hvo-demo-secret")

    async def _token(self, **form: str) -> dict[str, str]:
        token = ok(await self.api.post("/oauth/token", data=form), 200)
        return {"Authorization": f"Bearer {token['access_token']}"}
