"""The built-in OAuth2 token endpoint (RFC 6749: client credentials and password grants) and its JWKS."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .dependencies import public
from .service import CredentialStore, FailureThrottle
from .tokens import TokenIssuer

router = APIRouter(tags=["oauth"], dependencies=[Depends(public)])

_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


class OAuthError(BaseModel):
    error: str
    error_description: str | None = None


_TOKEN_FORM_SCHEMA = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials", "password"]},
        "client_id": {"type": "string", "description": "client_credentials (or use HTTP Basic)"},
        "client_secret": {"type": "string", "format": "password", "description": "client_credentials"},
        "username": {"type": "string", "description": "password grant: a demo user of the embedded stack"},
        "password": {"type": "string", "format": "password", "description": "password grant"},
        "scope": {"type": "string", "description": "ignored: roles come from the client's configuration"},
    },
}


@router.post(
    "/oauth/token",
    summary="Get a bearer token (OAuth2 client credentials or password grant)",
    description="Form-encoded as RFC 6749 asks. Systems (COA, NGOs) use `client_credentials` with "
                "`client_id`/`client_secret` in the form or in HTTP Basic; demo users of the embedded stack use "
                "`password`. Gone (404) when an external OIDC issuer is configured.",
    response_model=TokenRead,
    responses={400: {"model": OAuthError, "description": "invalid_request, unsupported_grant_type, invalid_grant"},
               401: {"model": OAuthError, "description": "invalid_client"},
               413: {"description": "the request body is too large"},
               422: {"description": "a NUL character in the form"},
               429: {"model": OAuthError, "description": "too many failed attempts for this client or user name; "
                                                         "try again after `Retry-After` seconds"}},
    openapi_extra={"requestBody": {"required": True, "content": {_FORM: {"schema": _TOKEN_FORM_SCHEMA}}}},
)
async def issue_token(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != _FORM:
        return _error(400, "invalid_request", f"the token request must be {_FORM}")
    form: dict[str, str] = {}
    for name, value in parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True):
        if name in form:
            return _error(400, "invalid_request", f"parameter {name} is given more than once")
        form[name] = value
    store: CredentialStore = request.app.state.credentials
    issuer: TokenIssuer = request.app.state.token_issuer
    throttle: FailureThrottle = request.app.state.token_throttle
    grant_type = form.get("grant_type")
    if not grant_type:
        return _error(400, "invalid_request", "grant_type is required")

    if grant_type == "client_credentials":
        basic = _basic_credentials(request.headers.get("authorization"))
        name, secret = basic or (form.get("client_id"), form.get("client_secret"))
        if not name or secret is None:
            return _error(401, "invalid_client", "client authentication is required")
        kind, keys, refusal = "client", [("client", name)], (401, "invalid_client", "client authentication failed")
    elif grant_type == "password":
        name, secret = form.get("username"), form.get("password")
        if not name or secret is None:
            return _error(400, "invalid_request", "username and password are required")
        keys = [("user", name)] + ([("client", client_id)] if (client_id := form.get("client_id")) else [])
        kind, refusal = "user", (400, "invalid_grant", "the username or password is wrong")
    else:
        return _error(400, "unsupported_grant_type", "use client_credentials or password")
    # Throttled per client id and per user name before the secret is checked; only a failure counts.
    if (wait := await throttle.retry_after(*keys)) is not None:
        return _throttled(wait)
    identity = await store.authenticate(kind, name, secret)
    if identity is None:
        await throttle.failed(*keys)
        return _error(*refusal)

    token = TokenRead(access_token=issuer.issue(identity), expires_in=issuer.ttl_seconds)
    return JSONResponse(token.model_dump(), headers=_NO_STORE)


@router.get("/.well-known/jwks.json", summary="The public keys that verify the gateway's bearer tokens")
async def jwks(request: Request) -> dict[str, list[dict[str, Any]]]:
    issuer: TokenIssuer = request.app.state.token_issuer
    return issuer.jwks()


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """client_id and secret from `Authorization: Basic` (RFC 6749 §2.3.1: each form-urlencoded)."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, separator, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if separator else None


def _throttled(retry_after: int) -> JSONResponse:
    response = _error(429, "too_many_requests", "too many failed attempts; try again later")
    response.headers["Retry-After"] = str(retry_after)
    return response


def _error(status_code: int, error: str, description: str) -> JSONResponse:
    headers = dict(_NO_STORE)
    if status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="verbinding"'
    return JSONResponse(OAuthError(error=error, error_description=description).model_dump(), status_code=status_code,
                        headers=headers)
