"""Idempotency-Key (IETF httpapi draft): a write sent again with the same key gets its first answer, not a second write.

A mutating route built with `IdempotentRoute` takes an optional `Idempotency-Key` header. The route's own transaction
(`SessionDep`, verbinding_common.db.get_session) first claims the key, then runs the route, then stores the answer:

- another request holding the same key right now → 409 + Retry-After (a transaction-scoped advisory lock);
- the key already answered a different request (method, path, query or body) → 422;
- the key already answered this request → the stored status, body, Location and content type again, with
  `Idempotent-Replayed: true`;
- otherwise the route runs, and a 2xx answer is stored in the same transaction as the write, for
  `idempotency_retention_hours` (24 h by default). A 4xx or an error rolls everything back and stores nothing:
  sending again runs the request again.

Keys are scoped per caller (the identity's subject; every anonymous reporter shares one scope, so their keys must be
unguessable, hence the 16-character minimum). The table keeps a hash of caller and key, an HMAC fingerprint and the
body encrypted (AES-GCM) with keys derived from the client's key: a copy of the table tells nothing without them.
A route that opens no `SessionDep` stores nothing itself (the gateway's forwarding routes: the service behind stores).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Depends, Header, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from .auth import Identity, Role, current_identity
from .db import idempotency_key_table
from .errors import Conflict, DomainError, RuleViolated

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Visible ASCII, 16 to 255 characters: long enough that keys of callers sharing a scope (anonymous reporters) do not
# meet by chance, short enough to be a key and not a payload.
KEY_PATTERN = re.compile(r"[\x21-\x7e]{16,255}")
REPORTER_SCOPE = "role:reporter"
# The answer's headers a replay gives again; the rest (trace id, dates) belong to the answer that is sent now.
KEPT_HEADERS = ("content-type", "location", "etag")
IN_PROGRESS_RETRY_AFTER_S = 1

KEY_DESCRIPTION = ("Optional. 16 to 255 visible ASCII characters, unique per intended write (a random UUID will do). "
                   "Sending the same request again with the same key within 24 hours gives the first answer again "
                   f"(header `{REPLAYED_HEADER}: true`) instead of writing twice. Only successful (2xx) answers are "
                   "kept: after a 4xx nothing was written and sending again runs the request again.")
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": f"the {HEADER} header is not 16 to 255 visible ASCII characters"},
    409: {"description": f"a request with this {HEADER} is still in progress (retry after `Retry-After`), or the "
                         "record's state does not allow this"},
}
REUSED_DESCRIPTION = f"invalid input, or this {HEADER} was already used for a different request"


class InvalidKey(DomainError):
    """The header is not a key we accept."""

    def __init__(self) -> None:
        super().__init__(f"{HEADER} must be 16 to 255 visible ASCII characters (a random UUID will do)")


class KeyInProgress(Conflict):
    """Another request with this key holds it now; its answer is not known yet."""

    def __init__(self) -> None:
        super().__init__(f"a request with this {HEADER} is still in progress; retry shortly")
        self.headers = {"Retry-After": str(IN_PROGRESS_RETRY_AFTER_S)}


class KeyReused(RuleViolated):
    """The key answered another request before: a client bug the client must see, not a replay of the wrong answer."""

    def __init__(self) -> None:
        super().__init__(f"this {HEADER} was already used for a different request (method, path, query or body); "
                         "use a new key for a new request")


class Replayed(Exception):
    """Raised by the claim when the key already answered this request; carries the stored answer."""

    def __init__(self, response: Response) -> None:
        super().__init__("replayed")
        self.response = response


def _derived(key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"verbinding idempotency-key " + purpose).derive(key.encode())


def lookup_of(scope: str, key: str) -> bytes:
    """The row's primary key: the caller's scope and the key, hashed (the raw key is never stored)."""
    return hashlib.sha256(scope.encode() + b"\n" + key.encode()).digest()


def scope_of(identity: Identity) -> str:
    """Whose keys these are: the subject the gateway vouched for (the same for every service), or the shared
    anonymous reporter scope."""
    if Role.reporter in identity.roles:
        return REPORTER_SCOPE
    return f"{identity.kind}:{identity.subject}"


def fingerprint_of(key: str, *, method: str, path: str, query: bytes, body: bytes) -> bytes:
    """What the request was, keyed by the client's key: equal requests compare equal, and the stored value lets no
    one test a guess at the body without the key."""
    mac = hmac.new(_derived(key, b"fingerprint"), digestmod=hashlib.sha256)
    for part in (method.encode(), path.encode(), query, body):
        mac.update(len(part).to_bytes(8, "big") + part)
    return mac.digest()


def _lock_id(lookup: bytes) -> int:
    # The single 64-bit key space of advisory locks: apart from the (namespace, key) pairs used elsewhere.
    return int.from_bytes(lookup[:8], "big", signed=True)


@dataclass
class IdempotentRequest:
    """A keyed write in flight: claimed at the start of the route's transaction, its answer stored at the end."""

    request: Request
    key: str
    fingerprint: bytes
    retention: timedelta
    lookup: bytes | None = None
    response: Response | None = None

    async def claim(self, session: AsyncSession) -> None:
        """Take the key for this transaction; KeyInProgress, KeyReused, or Replayed with the stored answer."""
        identity = getattr(self.request.state, "identity", None) or current_identity(self.request)
        lookup = lookup_of(scope_of(identity), self.key)
        if not await session.scalar(select(func.pg_try_advisory_xact_lock(_lock_id(lookup)))):
            raise KeyInProgress()
        table = idempotency_key_table
        row = (await session.execute(select(table, table.c.expires_at <= func.now()).where(
            table.c.lookup == lookup))).first()
        self.lookup = lookup
        if row is None:
            return
        if row[-1]:  # expired, not purged yet: the key is free again
            await session.execute(delete(table).where(table.c.lookup == lookup))
            return
        if not hmac.compare_digest(row.fingerprint, self.fingerprint):
            raise KeyReused()
        body = AESGCM(_derived(self.key, b"body")).decrypt(row.nonce, row.body, lookup)
        response = Response(content=body, status_code=row.status, headers={**row.headers, REPLAYED_HEADER: "true"})
        raise Replayed(response)

    async def store(self, session: AsyncSession) -> None:
        """Keep a successful answer with the write; anything else is not kept (nothing was written)."""
        response = self.response
        if self.lookup is None or response is None or not 200 <= response.status_code < 300:
            return
        body = getattr(response, "body", None)
        if not isinstance(body, bytes):  # a streamed answer cannot be kept; the key then protects nothing
            log.warning("%s: a streamed answer is not kept for %s", self.request.url.path, HEADER)
            return
        nonce = os.urandom(12)
        await session.execute(insert(idempotency_key_table).values(
            lookup=self.lookup, fingerprint=self.fingerprint, status=response.status_code,
            headers={name: response.headers[name] for name in KEPT_HEADERS if name in response.headers},
            body=AESGCM(_derived(self.key, b"body")).encrypt(nonce, body, self.lookup), nonce=nonce,
            # Kept to the hour: a key's row tells no finer when its request came (safe reporting stores its reports by
            # the day); it expires at the hour after its retention ran out.
            created_at=func.date_trunc("hour", func.now()),
            expires_at=func.date_trunc("hour", func.now() + self.retention) + text("interval '1 hour'")))


async def idempotency_key(
    request: Request,
    key: Annotated[str | None, Header(alias=HEADER, description=KEY_DESCRIPTION)] = None,
) -> None:
    """Validate the header and put the keyed request where the route's transaction finds it (request.state)."""
    if key is None:
        return
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidKey()
    settings = getattr(request.app.state, "settings", None)
    hours = getattr(settings, "idempotency_retention_hours", 24)
    # The path itself, not the route's template: the same key for another record is another request.
    request.state.idempotency = IdempotentRequest(
        request=request, key=key, retention=timedelta(hours=hours),
        fingerprint=fingerprint_of(key, method=request.method, path=request.scope["path"],
                                   query=request.scope.get("query_string", b""), body=await request.body()))


def _success_code(status_code: int | None) -> str:
    return str(status_code or 200)


def _merged(base: dict[str, Any] | None, extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base or {})
    for name, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = _merged(merged[name], value)
        else:
            merged.setdefault(name, value)
    return merged


def _with_key_answers(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """The route's documented answers, with what the key adds (a route's own 409 keeps its meaning and gains ours)."""
    merged = dict(responses)
    for code, answer in RESPONSES.items():
        own = merged.get(code, merged.get(str(code)))
        if own is None:
            merged[code] = answer
        else:
            merged.pop(str(code), None)
            merged[code] = {**own, "description": f"{own.get('description', '')}; or {answer['description']}"}
    return merged


def openapi_answers(status_code: int | None) -> dict[str, Any]:
    """What a keyed route adds to its OpenAPI operation beyond the header parameter: the replay marker on the success
    answer, and what 422 also means."""
    return {"responses": {
        _success_code(status_code): {"headers": {REPLAYED_HEADER: {
            "description": f"`true` when this is the stored answer to an earlier request with the same {HEADER}",
            "schema": {"type": "string", "enum": ["true"]}}}},
        "422": {"description": REUSED_DESCRIPTION},
    }}


class IdempotentRoute(APIRoute):
    """A route class: its POST/PUT/PATCH/DELETE routes honour `Idempotency-Key` and document it (header, 400, 409,
    422, the replay marker). Use it as `APIRouter(route_class=IdempotentRoute)`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods: Sequence[str] = kwargs.get("methods") or ()
        self.idempotent = bool(MUTATING_METHODS.intersection(method.upper() for method in methods))
        if self.idempotent:
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), Depends(idempotency_key)]
            kwargs["responses"] = _with_key_answers(kwargs.get("responses") or {})
            kwargs["openapi_extra"] = _merged(kwargs.get("openapi_extra"), openapi_answers(kwargs.get("status_code")))
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not self.idempotent:
            return handler

        async def answer(request: Request) -> Response:
            try:
                response = await handler(request)
            except Replayed as replay:
                return replay.response
            keyed: IdempotentRequest | None = getattr(request.state, "idempotency", None)
            if keyed is not None:
                # Stored by the session dependency's exit, which FastAPI runs after this returns (scope="function").
                keyed.response = response
            return response

        return answer


def is_idempotent(route: Any) -> bool:
    """Whether a route honours Idempotency-Key (for the audit that every mutating route does)."""
    return bool(getattr(route, "idempotent", False))


async def purge_expired(engine: AsyncEngine, *, batch_size: int = 1000) -> int:
    """Delete keys past their expiry, `batch_size` rows per transaction; how many were deleted."""
    table = idempotency_key_table
    purged = 0
    while True:
        expired = (select(table.c.lookup).where(table.c.expires_at < func.now()).limit(batch_size)
                   .with_for_update(skip_locked=True))
        async with engine.begin() as conn:
            deleted = (await conn.execute(delete(table).where(table.c.lookup.in_(expired)))).rowcount
        purged += deleted
        if deleted < batch_size:
            return purged
