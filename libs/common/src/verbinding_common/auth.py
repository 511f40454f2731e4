"""Identities the gateway vouches for (one audience per service), and the role allow-list every route declares."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

IDENTITY_HEADER = "X-Verbinding-Identity"
# A stream the gateway hands off (it never relays one) carries its caller in this query parameter: a ticket, signed
# like an identity but for the service's streams alone (`ticket_audience`), so neither stands in for the other.
TICKET = "ticket"
ISSUER = "verbinding-gateway"
ALGORITHM = "EdDSA"
# The same two answers whatever went wrong: the verifier's own text would tell a prober what to fix.
NOT_AUTHENTICATED = "not authenticated"
NOT_ALLOWED = "not allowed"

log = logging.getLogger(__name__)
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


class Role(StrEnum):
    case_manager = "case_manager"
    job_hunter = "job_hunter"
    team_lead = "team_lead"
    hub_counsellor = "hub_counsellor"
    programme_coordinator = "programme_coordinator"
    # An anonymous safe-reporting reporter: only the gateway vouches for one (public routes), no token carries it.
    reporter = "reporter"
    coa_integration = "coa_integration"
    ngo_partner = "ngo_partner"
    ops = "ops"


class Identity(BaseModel):
    """Who is asking: a user (case manager, team lead, …) or a client system (COA, an NGO)."""

    subject: str = Field(min_length=1)
    kind: Literal["user", "client"]
    roles: list[Role]
    organisation: str | None = Field(default=None, description="the NGO an ngo_partner is bound to")
    team: str | None = Field(default=None, max_length=64, description="the team a team lead or case manager is in")
    name: str | None = None


class InvalidIdentity(Exception):
    pass


def generate_signing_key() -> tuple[str, str]:
    """A new Ed25519 key pair as (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def ensure_key_files(folder: Path, stem: str = "identity") -> tuple[Path, Path]:
    """Create `<stem>.key` (private, mode 600) and `<stem>.pub` once; return their paths."""
    private_path, public_path = folder / f"{stem}.key", folder / f"{stem}.pub"
    if not private_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        private, public = generate_signing_key()
        private_path.touch(mode=0o600)
        private_path.write_text(private)
        public_path.write_text(public)
    return private_path, public_path


class VerifiedTokens:
    """Tokens this process has already verified, with the identity each carried, until each one's expiry.

    A token is its own cache key: only the exact bytes that passed the signature check find an entry, so the cache
    accepts nothing the check would refuse, except a token past `until` (then it is checked again, and refused).
    Checking a signature (Ed25519, JSON, base64) on every request was a measurable share of a burst's CPU; a burst
    carries the same few tokens again and again. Bounded: past `max_entries` it starts afresh."""

    def __init__(self, *, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Identity, float]] = {}

    def get(self, token: str) -> Identity | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if time.time() >= entry[1]:
            self._entries.pop(token, None)
            return None
        return entry[0]

    def put(self, token: str, identity: Identity, *, until: float) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[token] = (identity, until)


def ticket_audience(audience: str) -> str:
    """The audience of a service's stream tickets: a ticket is refused as an identity header and the other way round
    (a ticket travels in a URL, so it must open nothing but a stream)."""
    return f"{audience}#stream"


class IdentitySigner:
    """Held by the gateway only: turns a verified caller into a short-lived token for one service (its audience).

    The token minted for a caller and a service is sent again while it has more than half its life left: the service
    then finds it among the tokens it verified (VerifiedTokens), and neither side pays a signature per request. A
    service accepts it for at most `ttl_seconds` after it was minted, as before."""

    def __init__(self, private_key_pem: str, *, ttl_seconds: int = 60, max_reused: int = 1024) -> None:
        self._key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        self.ttl_seconds = ttl_seconds
        self.max_reused = max_reused
        self._minted: dict[tuple[Any, ...], tuple[str, float]] = {}

    def sign(self, identity: Identity, *, audience: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER, "aud": audience, "iat": now, "exp": now + self.ttl_seconds, "jti": uuid.uuid4().hex,
            "sub": identity.subject, "kind": identity.kind, "roles": [str(r) for r in identity.roles],
            "org": identity.organisation, "team": identity.team, "name": identity.name,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)  # type: ignore[arg-type]

    def headers(self, identity: Identity, *, audience: str) -> dict[str, str]:
        """The identity header for one call: a token minted earlier for the same caller and service while it has
        more than half its life left, else a new one."""
        key = (audience, identity.subject, identity.kind, tuple(identity.roles), identity.organisation, identity.team,
               identity.name)
        reused = self._minted.get(key)
        if reused is None or time.time() >= reused[1]:
            if len(self._minted) >= self.max_reused:
                self._minted.clear()
            reused = (self.sign(identity, audience=audience), time.time() + self.ttl_seconds / 2)
            self._minted[key] = reused
        return {IDENTITY_HEADER: reused[0]}

    def ticket(self, identity: Identity, *, audience: str) -> str:
        """A ticket for one of the service's streams: a new one each time, valid for `ttl_seconds` (to connect)."""
        return self.sign(identity, audience=ticket_audience(audience))


class IdentityVerifier:
    """Held by every service: accepts only identities the gateway signed for this service (its audience)."""

    def __init__(self, public_key_pem: str, *, audience: str) -> None:
        self._key = serialization.load_pem_public_key(public_key_pem.encode())
        self.audience = audience
        self._verified = VerifiedTokens()
        self._tickets = VerifiedTokens()

    def verify(self, token: str) -> Identity:
        return self._verify(token, self.audience, self._verified)

    def verify_ticket(self, token: str) -> Identity:
        """A stream ticket (`IdentitySigner.ticket`): the same checks, the tickets' own audience and memory."""
        return self._verify(token, ticket_audience(self.audience), self._tickets)

    def _verify(self, token: str, audience: str, verified: VerifiedTokens) -> Identity:
        if (known := verified.get(token)) is not None:
            return known
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], audience=audience,  # type: ignore[arg-type]
                                issuer=ISSUER, options={"require": ["exp", "iat", "sub", "aud", "iss"]})
            identity = Identity(subject=claims["sub"], kind=claims.get("kind", "user"), roles=claims.get("roles", []),
                                organisation=claims.get("org"), team=claims.get("team"), name=claims.get("name"))
        except (jwt.PyJWTError, ValueError) as exc:
            raise InvalidIdentity(exc.__class__.__name__) from exc
        verified.put(token, identity, until=float(claims["exp"]))
        return identity


def _verified_identity(request: Request, *, ticket: bool = False) -> Identity:
    cached = getattr(request.state, "identity", None)
    if cached is not None:
        return cached
    verifier: IdentityVerifier | None = getattr(request.app.state, "identity_verifier", None)
    token = request.headers.get(IDENTITY_HEADER)
    from_ticket = ticket and not token
    if from_ticket:
        token = request.query_params.get(TICKET)
    if verifier is None or not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, NOT_AUTHENTICATED)
    try:
        identity = verifier.verify_ticket(token) if from_ticket else verifier.verify(token)
    except InvalidIdentity as exc:
        # The reason (expired, wrong audience, bad signature) is for the operator, never for the caller.
        log.info("identity refused: %s", exc)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, NOT_AUTHENTICATED) from None
    request.state.identity = identity
    return identity


def ensure_role(identity: Identity, allowed: frozenset[Role]) -> Identity:
    """The identity, if it holds one of the allowed roles; else 403 (a generic body: the allow-list is not told)."""
    if not allowed.intersection(identity.roles):
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_ALLOWED)
    return identity


def allow(*roles: Role, ticket: bool = False) -> Callable[[Request], Identity]:
    """A route dependency: only callers holding one of `roles` get through (401 without identity, 403 else).

    `ticket`: a stream's route also takes its caller from a stream ticket in the query (`TICKET`), for clients the
    gateway handed off to the service's own address."""
    allowed = frozenset(roles)

    async def check(request: Request) -> Identity:  # async: a sync dependency costs a thread hop per request
        return ensure_role(_verified_identity(request, ticket=ticket), allowed)

    check.allowed_roles = allowed  # type: ignore[attr-defined]
    return check


def current_identity(request: Request) -> Identity:
    """The caller, once a route's allow-list let it through."""
    return _verified_identity(request)


async def _current_identity(request: Request) -> Identity:
    return _verified_identity(request)


CurrentIdentity = Annotated[Identity, Depends(_current_identity)]


def allowed_roles(route: Any) -> frozenset[Role] | None:
    """The allow-list a route declares (route or router dependencies), or None when it declares none."""
    found: set[Role] = set()
    declared = False
    for dependant in _walk(route.dependant.dependencies):
        roles = getattr(dependant.call, "allowed_roles", None)
        if roles is not None:
            declared = True
            found |= roles
    return frozenset(found) if declared else None


def _walk(dependencies: Iterable[Any]) -> Iterable[Any]:
    for dependency in dependencies:
        yield dependency
        yield from _walk(dependency.dependencies)


def routes_without_allow_list(app: FastAPI) -> list[str]:
    """Every route but health and docs must declare an allow-list; this names the ones that do not."""
    # Routers added with include_router show up in app.routes as one entry (FastAPI >= 0.16x): walk into them.
    return [f"{sorted(context.methods or ())} {context.path}" for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute) and context.path not in OPEN_PATHS
            and allowed_roles(context) is None]
