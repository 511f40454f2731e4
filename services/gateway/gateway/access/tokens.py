"""Bearer tokens: the built-in issuer (its key, its JWKS) and the verifier that turns a token into an Identity."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from verbinding_common.auth import Identity, Role, VerifiedTokens, generate_signing_key

from ..settings import GatewaySettings

# RFC 7638: the members of a JWK that make its thumbprint, per key type.
_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}
# How long an external issuer's keys are kept before the JWKS is fetched again.
KNOWN_KEYS_S = 300


class InvalidToken(Exception):
    """The bearer token is missing a part, forged, expired or meant for someone else."""


class IssuerUnavailable(Exception):
    """The external issuer's JWKS could not be fetched: not the caller's fault."""


class TokenIssuer:
    """Signs user and client tokens with the gateway's token key (Ed25519 → EdDSA, RSA → RS256)."""

    def __init__(self, private_key_pem: str, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if isinstance(key, ed25519.Ed25519PrivateKey):
            self.algorithm, jwk = "EdDSA", json.loads(OKPAlgorithm.to_jwk(key.public_key()))
        elif isinstance(key, rsa.RSAPrivateKey):
            self.algorithm, jwk = "RS256", json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        else:
            raise ValueError("the token signing key must be an Ed25519 or RSA private key")
        self._key = key
        self.public_key = key.public_key()
        self.issuer, self.audience, self.ttl_seconds = issuer, audience, ttl_seconds
        self.key_id = _thumbprint(jwk)
        self.jwk = {**jwk, "kid": self.key_id, "use": "sig", "alg": self.algorithm}

    def issue(self, identity: Identity) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.audience, "sub": identity.subject, "iat": now,
            "exp": now + self.ttl_seconds, "jti": uuid.uuid4().hex, "kind": identity.kind,
            "roles": [str(role) for role in identity.roles],
        }
        optional = {"org": identity.organisation, "team": identity.team, "name": identity.name}
        claims |= {claim: value for claim, value in optional.items() if value}
        return jwt.encode(claims, self._key, algorithm=self.algorithm,  # type: ignore[arg-type]
                          headers={"kid": self.key_id})

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [self.jwk]}


class TokenVerifier:
    """Checks a bearer token: against the built-in issuer's key, or an external issuer's JWKS."""

    def __init__(self, *, issuer: str, audience: str, algorithms: list[str], key: Any = None,
                 jwks_client: jwt.PyJWKClient | None = None, roles_claim: str = "roles",
                 organisation_claim: str = "org", team_claim: str = "team") -> None:
        self.issuer, self.audience, self.algorithms = issuer, audience, algorithms
        self._key, self._jwks_client = key, jwks_client
        self.roles_claim, self.organisation_claim, self.team_claim = roles_claim, organisation_claim, team_claim
        # A client sends the same bearer token with every request until it expires: checked once, then found.
        self._verified = VerifiedTokens()

    async def verify(self, token: str) -> Identity:
        if (known := self._verified.get(token)) is not None:
            return known
        identity, expires = await self._checked(token)
        # An external issuer's keys are cached for KNOWN_KEYS_S (PyJWKClient's lifespan): a verified token is not
        # trusted longer than the key that verified it was.
        self._verified.put(token, identity, until=min(expires, time.time() + KNOWN_KEYS_S))
        return identity

    async def _checked(self, token: str) -> tuple[Identity, float]:
        try:
            key = self._key
            if self._jwks_client is not None:
                # PyJWKClient fetches with urllib (blocking) and caches the keys: keep the loop free.
                signing_key = await asyncio.to_thread(self._jwks_client.get_signing_key_from_jwt, token)
                key = signing_key.key
            claims = jwt.decode(token, key, algorithms=self.algorithms, audience=self.audience, issuer=self.issuer,
                                options={"require": ["exp", "iat", "sub", "iss", "aud"]})
            return self._identity(claims), float(claims["exp"])
        except jwt.PyJWKClientConnectionError as exc:
            raise IssuerUnavailable(str(exc)) from exc
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise InvalidToken(exc.__class__.__name__) from exc

    def _identity(self, claims: dict[str, Any]) -> Identity:
        roles = claims.get(self.roles_claim) or []
        if not isinstance(roles, list):
            raise InvalidToken("roles claim is not a list")
        known = {role.value for role in Role} - {Role.reporter.value}  # reporters have no tokens
        return Identity(
            subject=claims["sub"],
            kind="client" if claims.get("kind") == "client" else "user",
            # An external issuer may carry roles of other applications: only ours count.
            roles=[Role(role) for role in roles if role in known],
            organisation=claims.get(self.organisation_claim),
            team=claims.get(self.team_claim),
            name=claims.get("name"),
        )


def build_token_authority(settings: GatewaySettings) -> tuple[TokenIssuer | None, TokenVerifier]:
    """The issuer (None with an external OIDC issuer) and the verifier the settings call for."""
    if settings.external_issuer:
        assert settings.oidc_jwks_url and settings.oidc_issuer and settings.oidc_audience
        jwks_client = jwt.PyJWKClient(settings.oidc_jwks_url, cache_keys=True, lifespan=KNOWN_KEYS_S,
                                      timeout=int(max(1, settings.downstream_timeout_s)))
        return None, TokenVerifier(issuer=settings.oidc_issuer, audience=settings.oidc_audience,
                                   algorithms=settings.oidc_algorithms, jwks_client=jwks_client,
                                   roles_claim=settings.oidc_roles_claim,
                                   organisation_claim=settings.oidc_organisation_claim,
                                   team_claim=settings.oidc_team_claim)
    private_pem = settings.token_signing_key_pem()
    if private_pem is None:
        if settings.environment == "production":
            raise ValueError("set VERBINDING_TOKEN_SIGNING_KEY_FILE (or an external OIDC issuer) in production")
        private_pem = generate_signing_key()[0]  # development / test: tokens live as long as the process
    issuer = TokenIssuer(private_pem, issuer=settings.token_issuer, audience=settings.token_audience,
                         ttl_seconds=settings.token_ttl_s)
    return issuer, TokenVerifier(issuer=issuer.issuer, audience=issuer.audience, algorithms=[issuer.algorithm],
                                 key=issuer.public_key)


def _thumbprint(jwk: dict[str, Any]) -> str:
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return jwt.utils.base64url_encode(digest).decode()
