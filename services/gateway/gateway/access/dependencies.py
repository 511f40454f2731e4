"""The gateway's route guards: a bearer token checked into an Identity, then the route's role allow-list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from verbinding_common.auth import Identity, Role, ensure_role

from .tokens import InvalidToken, IssuerUnavailable, TokenVerifier

bearer_scheme = HTTPBearer(auto_error=False, bearerFormat="JWT",
                           description="A token from POST /oauth/token (or the configured OIDC issuer).")

_CHALLENGE = 'Bearer realm="verbinding"'


async def _authenticated(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Identity:
    cached = getattr(request.state, "identity", None)
    if cached is not None:
        return cached
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a bearer token is required",
                            headers={"WWW-Authenticate": _CHALLENGE})
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        identity = await verifier.verify(credentials.credentials)
    except InvalidToken:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the bearer token is not valid (forged, expired or "
                            "not meant for this API)",
                            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'}) from None
    except IssuerUnavailable:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the token issuer's keys cannot be fetched",
                            headers={"Retry-After": "5"}) from None
    request.state.identity = identity
    return identity


def require(*roles: Role) -> Callable[..., Awaitable[Identity]]:
    """A route dependency: 401 without a valid bearer token, 403 unless the caller holds one of `roles`."""
    allowed = frozenset(roles)

    async def check(request: Request,
                    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> Identity:
        return ensure_role(await _authenticated(request, credentials), allowed)

    # The same marker verbinding_common.auth.allow sets, so routes_without_allow_list audits the gateway too.
    check.allowed_roles = allowed  # type: ignore[attr-defined]
    return check


async def public() -> None:
    """Marks a route open to anyone on purpose (the token endpoint, the JWKS): its allow-list is empty."""


# An explicit, empty allow-list: the route audit sees a declaration, and no role is checked.
public.allowed_roles = frozenset()  # type: ignore[attr-defined]
public.is_public = True  # type: ignore[attr-defined]


def current_caller(request: Request) -> Identity:
    """The caller, once the route's allow-list let it through."""
    identity = getattr(request.state, "identity", None)
    if identity is None:  # only reachable on a route that forgot its allow-list; the route audit forbids that
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a bearer token is required",
                            headers={"WWW-Authenticate": _CHALLENGE})
    return identity


async def _caller(request: Request) -> Identity:
    return current_caller(request)


CallerDep = Annotated[Identity, Depends(_caller)]
