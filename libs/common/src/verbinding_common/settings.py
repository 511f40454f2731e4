"""The settings base class every service extends (pydantic-settings, read from VERBINDING_* variables)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SecretsSettingsSource, SettingsConfigDict

# Values that only ever belong on a developer's machine. Outside development they are refused.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "development", "dev-secret"})

# A folder of files named like the variables in lower case (`verbinding_database_url`), one setting each: how
# containers get secrets (a Kubernetes Secret or compose secret mounted there). Variables still win over files.
SECRETS_DIR_VARIABLE = "VERBINDING_SECRETS_DIR"


def secret_setting(name: str) -> str | None:
    """The value of setting `name` from its file in VERBINDING_SECRETS_DIR, or None."""
    folder = os.environ.get(SECRETS_DIR_VARIABLE)
    path = Path(folder, f"verbinding_{name}") if folder else None
    return path.read_text().strip() if path is not None and path.is_file() else None


def inline_or_file(inline: str | SecretStr | None, file: Path | None) -> str | None:
    """A key given inline (a variable), else read from `file` (a mounted secret), else None; blank counts as unset."""
    raw = inline.get_secret_value() if isinstance(inline, SecretStr) else inline
    if raw is not None and raw.strip():
        return raw
    return Path(file).read_text() if file is not None else None


class ServiceSettings(BaseSettings):
    """What every service needs: who it is, where its database and the broker are, where traces go."""

    model_config = SettingsConfigDict(env_prefix="VERBINDING_", extra="ignore", env_file=None)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        folder = os.environ.get(SECRETS_DIR_VARIABLE)
        if folder:
            file_secret_settings = SecretsSettingsSource(settings_cls, secrets_dir=folder)
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    # Names the service everywhere: the CloudEvents `source` of its events, its consumer group, its traces.
    service_name: str = "verbinding"
    # No default: a deployment that forgets it must not fall into development (demo users, password grant).
    # Only the commands that start the local stack and the tests set it for you.
    environment: Literal["development", "test", "production"]

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/verbinding"
    database_pool_size: int = 10
    # How long one statement of an HTTP request's transaction may run (a wait for a lock included) before it is
    # cancelled and the request answers 503, nothing done: below the gateway's deadline for a call (1.5 s), so work
    # whose caller is gone stops. Consumers and jobs are not bounded by it. 0 turns it off.
    request_statement_timeout_ms: int = Field(default=1_000, ge=0)

    @property
    def shared_limits_timeout_s(self) -> float:
        """How long a shared limit's check may take before the limit answers as it answers an outage (the guess budget
        refuses, 503): 2 s, or a request's statement bound where that is longer (tests on a busy machine)."""
        return max(2.0, self.request_statement_timeout_ms / 1000)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # The embedded broker fails InitProducerId, so idempotence and transactions stay off unless asked for.
    kafka_enable_idempotence: bool = False
    kafka_request_timeout_ms: int = 10_000
    kafka_metadata_max_age_ms: int = 5_000
    # Tansu holds a group join for about half the session timeout: shorter sessions start consumers faster.
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000
    # A production broker requires authentication: SASL (SCRAM) over TLS. Off in the embedded stack.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password_file: Path | None = None
    kafka_ssl_cafile: Path | None = None
    dead_letter_retention_hours: int = 24 * 14
    # Partitions of the topics a service creates: at least as many as the most processes of one consumer group.
    kafka_topic_partitions: int = Field(default=3, ge=1)

    # Allocations between collections of the youngest generation once a service has started (CPython's is 700).
    gc_gen0_threshold: int = Field(default=10_000, ge=100)

    relay_batch_size: int = 500
    relay_poll_interval_s: float = 0.2
    relay_coalesce_s: float = 0.02
    relay_epoch_check_interval_s: float = 1.0
    # Published rows stay only to be republished after a broker restart; they may carry personal data.
    outbox_retention_hours: int = 24

    # Idempotency-Key answers are kept this long (the IETF draft asks for at least 24 h), purged in batches.
    idempotency_retention_hours: int = Field(default=24, ge=1)
    idempotency_purge_interval_s: float = 600.0

    consumer_max_attempts: int = 3
    consumer_retry_backoff_s: float = 0.2
    # Events a consumer applies in one transaction at most. Each fetch also waits on round trips (its statements, the
    # commit, the offset commit) that do not grow with it: with 200, intake, the recognitions' slowest stage, used
    # under half a core and waited the rest.
    consumer_batch_size: int = 500

    shutdown_drain_s: float = 10.0
    # What a 503 asks the client to wait when the database or broker is unreachable.
    unavailable_retry_after_s: int = 5

    # The gateway's public key: services accept only identities it signed (verbinding_common.auth).
    identity_public_key: str | None = None
    identity_public_key_file: Path | None = None
    # The audience this service accepts identities for; the gateway signs each call for its target's audience.
    # A service class fixes it (intake: "intake"), so a test's renamed service_name does not change it.
    identity_audience: str | None = None

    def audience(self) -> str:
        return self.identity_audience or self.service_name

    def identity_public_key_pem(self) -> str | None:
        return inline_or_file(self.identity_public_key, self.identity_public_key_file)

    otlp_endpoint: str | None = None
    # Log lines: JSON (one object a line, for a collector) or `console` (readable, for a developer's terminal).
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    trace_file: Path | None = None
    trace_file_max_bytes: int = 20 * 1024 * 1024
    trace_file_max_age_hours: int = 24

    # Hostile input (verbinding_common.input_guard): bodies past this size are refused unread.
    max_body_bytes: int = 2 * 1024 * 1024
    max_json_depth: int = 32
    # Proxies whose X-Forwarded-For is believed (uvicorn's forwarded_allow_ips); none by default.
    forwarded_allow_ips: str = ""

    # Secrets a subclass declares should be SecretStr fields listed here; they are checked below.
    secret_fields: tuple[str, ...] = Field(default=(), exclude=True)

    def kafka_sasl_password(self) -> str | None:
        if self.kafka_sasl_password_file is None:
            return None
        return Path(self.kafka_sasl_password_file).read_text().strip()

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.environment == "development":
            return self
        for name in self.secret_fields:
            value = getattr(self, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if raw is None or str(raw).strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    f"{name} holds a placeholder secret; set VERBINDING_{name.upper()} to a real value "
                    f"outside development (environment={self.environment})"
                )
        return self
