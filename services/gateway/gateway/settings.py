"""The gateway's settings: neighbours' URLs, signing keys, the token issuer, clients and demo users."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, model_validator

from verbinding_common.auth import Role
from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.credentials import StoredHash, hash_secret, verify_secret
from verbinding_common.settings import PLACEHOLDER_SECRETS, ServiceSettings, inline_or_file

# Demo credentials of the embedded stack, never accepted outside development.
DEMO_CLIENT_SECRETS = {"coa": "coa-demo-secret", "ngo-hvo-querido": "hvo-demo-secret"}
DEMO_PASSWORD = "demo"
_DEMO_ITERATIONS = 10_000  # demo hashes only: cheap, so every development start stays quick


class _Principal(BaseModel):
    """Who a token names: its roles, the organisation it acts for, a display name."""

    roles: list[Role] = Field(min_length=1)
    organisation: str | None = None
    name: str | None = None


class ClientConfig(_Principal):
    """A system that gets tokens with client credentials: the COA integration, an NGO."""

    client_id: str = Field(min_length=1)
    secret_hash: StoredHash = Field(description="hash made by `python -m verbinding_common.credentials`")

    @model_validator(mode="after")
    def _ngo_partner_needs_organisation(self) -> ClientConfig:
        if Role.ngo_partner in self.roles and not self.organisation:
            raise ValueError(f"client {self.client_id}: an ngo_partner is bound to an organisation")
        return self


class DemoUserConfig(_Principal):
    """A user of the embedded stack who gets a token with the password grant."""

    username: str = Field(min_length=1)
    password_hash: StoredHash
    team: str | None = Field(default=None, max_length=64, description="a team lead acts on this team's cases only")


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/gateway"

    intake_url: str = "http://127.0.0.1:8001"
    case_plan_url: str = "http://127.0.0.1:8002"
    shelter_placement_url: str = "http://127.0.0.1:8004"
    employment_url: str = "http://127.0.0.1:8003"
    safe_reporting_url: str = "http://127.0.0.1:8005"
    capacity_hub_url: str = "http://127.0.0.1:8006"
    # Where clients reach a service's streams, which the gateway hands off and never relays (a JSON object of service
    # name to URL, e.g. {"capacity-hub": "https://capacity.example.org"}); a service not named: its URL above.
    public_urls: dict[str, str] = {}
    # Anonymous reports per sender per hour (the sender known only by an in-memory keyed hash, see reports/limiter).
    report_submissions_per_hour: int = Field(default=20, ge=1)
    # A hanging service must not hold a client: every forwarded call ends within this (each route < 2 s), the
    # whole overview within overview_timeout_s (a late section is marked unavailable).
    downstream_timeout_s: float = 1.5
    overview_timeout_s: float = 0.8

    # Signs the X-Verbinding-Identity header services accept (its public half is their identity_public_key).
    identity_signing_key: SecretStr | None = None
    identity_signing_key_file: Path | None = None

    # The built-in token issuer: a key of its own (Ed25519 or RSA PEM), never the identity key.
    token_signing_key: SecretStr | None = None
    token_signing_key_file: Path | None = None
    token_issuer: str = "verbinding-gateway"
    token_audience: str = "verbinding-api"
    token_ttl_s: int = 900
    # Failed token requests allowed per client id and per user name (limits' notation) before a 429.
    token_failure_limit: str = "5/minute"

    # An external OIDC issuer (production): then bearer tokens are checked against its JWKS and
    # the built-in token endpoint is gone.
    oidc_issuer: str | None = None
    oidc_jwks_url: str | None = None
    oidc_audience: str | None = None
    oidc_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "EdDSA"])
    oidc_roles_claim: str = "roles"
    oidc_organisation_claim: str = "org"
    oidc_team_claim: str = "team"

    # JSON lists (VERBINDING_CLIENTS, VERBINDING_DEMO_USERS); unset means the demo defaults in development
    # and nobody elsewhere.
    clients: list[ClientConfig] | None = None
    demo_users: list[DemoUserConfig] | None = None

    coa_topic: str = StatusRecognised.topic
    coa_retry_after_s: int = 5
    # A receipt holds a COA number: kept as long as the COA may look the recognition up, then purged.
    coa_receipt_retention_days: int = 30
    coa_receipt_purge_interval_s: float = 3600.0

    @property
    def external_issuer(self) -> bool:
        return bool(self.oidc_jwks_url)

    def identity_signing_key_pem(self) -> str | None:
        return inline_or_file(self.identity_signing_key, self.identity_signing_key_file)

    def token_signing_key_pem(self) -> str | None:
        return inline_or_file(self.token_signing_key, self.token_signing_key_file)

    @model_validator(mode="before")
    @classmethod
    def _declare_secrets(cls, data: Any) -> Any:
        """Outside development an inline key must be a real secret unless a key file is given instead."""
        if not isinstance(data, dict) or data.get("environment") != "production":
            return data
        secrets = []
        if not data.get("identity_signing_key_file"):
            secrets.append("identity_signing_key")
        if not data.get("oidc_jwks_url") and not data.get("token_signing_key_file"):
            secrets.append("token_signing_key")
        return {**data, "secret_fields": tuple(secrets)}

    @model_validator(mode="after")
    def _credentials(self) -> GatewaySettings:
        if self.external_issuer and not (self.oidc_issuer and self.oidc_audience):
            raise ValueError("oidc_jwks_url needs oidc_issuer and oidc_audience too")
        if self.environment == "development":
            if self.clients is None:
                self.clients = demo_clients()
            if self.demo_users is None:
                self.demo_users = demo_users()
            return self
        self.clients = self.clients or []
        self.demo_users = self.demo_users or []
        if self.demo_users:
            raise ValueError(f"demo users (password grant) belong to the embedded stack's development, not to "
                             f"{self.environment}")
        refused = set(PLACEHOLDER_SECRETS) | set(DEMO_CLIENT_SECRETS.values()) | {DEMO_PASSWORD}
        for client in self.clients:
            if any(verify_secret(placeholder, client.secret_hash) for placeholder in refused):
                raise ValueError(f"client {client.client_id} has a placeholder or demo secret; "
                                 f"outside development (environment={self.environment}) set a real one")
        return self


def demo_clients() -> list[ClientConfig]:
    return [
        ClientConfig(client_id="coa", secret_hash=_demo_hash(DEMO_CLIENT_SECRETS["coa"]),
                     roles=[Role.coa_integration], name="COA integration"),
        ClientConfig(client_id="ngo-hvo-querido", secret_hash=_demo_hash(DEMO_CLIENT_SECRETS["ngo-hvo-querido"]),
                     roles=[Role.ngo_partner], organisation="HVO-Querido", name="HVO-Querido"),
    ]


# The embedded stack's demo users: user name, role, team (a team lead acts on that team's cases), organisation (a
# programme coordinator's names the programme), display name.
_DEMO_USERS = [
    ("cm-anna", Role.case_manager, "west", None, "Anna"), ("cm-bram", Role.case_manager, "west", None, "Bram"),
    ("jh-eva", Role.job_hunter, "west", None, "Eva"), ("tl-carla", Role.team_lead, "west", None, "Carla"),
    ("tl-dirk", Role.team_lead, "oost", None, "Dirk"), ("ops-dave", Role.ops, None, None, "Dave"),
    ("pc-pieter", Role.programme_coordinator, None, "lvv", "Pieter"),
    ("hc-hana", Role.hub_counsellor, None, None, "Hana"),
]


def demo_users() -> list[DemoUserConfig]:
    password = _demo_hash(DEMO_PASSWORD)
    return [DemoUserConfig(username=username, password_hash=password, roles=[role], team=team,
                           organisation=organisation, name=name)
            for username, role, team, organisation, name in _DEMO_USERS]


def _demo_hash(secret: str) -> str:
    return hash_secret(secret, iterations=_DEMO_ITERATIONS)

