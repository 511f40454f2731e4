"""Settings of the capacity hub (VERBINDING_* variables): its database, the key that seals webhook secrets,
delivery, the stream and retention."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from verbinding_common.settings import ServiceSettings

# Development only: derived from a public phrase, so refused anywhere else (see _key_outside_development).
_DEV_SECRET_KEY = base64.b64encode(hashlib.sha256(b"verbinding development webhook secret key").digest()).decode()
# Tests: a key of this process only (endpoints registered with it cannot be opened by another process).
_TEST_SECRET_KEY = base64.b64encode(secrets.token_bytes(32)).decode()


class CapacityHubSettings(ServiceSettings):
    """Back-off grows over hours in production; tests make it small."""

    service_name: str = "capacity-hub"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/capacity_hub"

    # The key-encryption key that wraps each endpoint's data key, which seals its signing secrets (base64 of 32
    # bytes), and its id. Old keys stay readable under their ids (VERBINDING_PREVIOUS_WEBHOOK_SECRET_KEYS).
    webhook_secret_key: SecretStr | None = None
    webhook_secret_key_file: Path | None = None
    webhook_secret_key_id: str = Field(default="k1", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    previous_webhook_secret_keys: dict[str, SecretStr] = Field(default_factory=dict)

    webhook_timeout_s: float = 10.0
    webhook_backoff_base_s: float = 5.0
    webhook_backoff_max_s: float = 2 * 3600.0
    # Consecutive failed attempts before an endpoint is disabled: with the defaults about 12 hours of retries.
    webhook_max_failures: int = Field(default=15, ge=1)
    # Endpoints one process serves at once (each one attempt in flight); more are served by other replicas.
    webhook_max_endpoints: int = Field(default=1000, ge=1)
    webhook_lease_s: float = Field(default=30.0, gt=0)
    # How often a process renews its leases, looks for endpoints to take on, and sees pauses and replays.
    webhook_claim_interval_s: float = Field(default=1.0, gt=0)
    # Delivered attempts and cursor moves are written together at most this long after they happen.
    webhook_record_interval_s: float = Field(default=0.2, gt=0)
    webhook_rotation_overlap_s: float = 24 * 3600.0
    # Outside development: https only, and no loopback, private or link-local targets (None: by environment).
    webhook_allow_insecure_targets: bool | None = None

    # Other replicas' log rows are noticed by polling; this process's own wake the readers at commit.
    capacity_feed_poll_interval_s: float = 0.2
    capacity_feed_memory: int = Field(default=10_000, ge=100)
    sse_heartbeat_s: float = 15.0
    sse_send_timeout_s: float = 30.0

    # Retention: capacity changes (but each shelter's latest) and delivery attempts older than this are purged.
    capacity_log_retention_days: int = Field(default=30, ge=1)
    webhook_attempt_retention_days: int = Field(default=30, ge=1)
    retention_interval_s: float = Field(default=3600.0, gt=0)
    retention_batch: int = Field(default=5000, ge=1)

    @property
    def insecure_webhook_targets(self) -> bool:
        if self.webhook_allow_insecure_targets is None:
            return self.environment == "development"
        return self.webhook_allow_insecure_targets

    def webhook_secret_keys(self) -> dict[str, bytes]:
        """Every key-encryption key by id, the current one included."""
        keys = {kid: _decoded(value.get_secret_value(), "previous_webhook_secret_keys")
                for kid, value in self.previous_webhook_secret_keys.items()}
        keys[self.webhook_secret_key_id] = self._current_key()
        return keys

    def _current_key(self) -> bytes:
        raw = self.webhook_secret_key.get_secret_value() if self.webhook_secret_key is not None else None
        if raw is None and self.webhook_secret_key_file is not None:
            raw = Path(self.webhook_secret_key_file).read_text().strip()
        if raw is None and self.environment == "development":
            raw = _DEV_SECRET_KEY
        if raw is None and self.environment == "test":
            raw = _TEST_SECRET_KEY
        if raw is None:
            raise ValueError("webhook_secret_key is not set: give VERBINDING_WEBHOOK_SECRET_KEY or "
                             "VERBINDING_WEBHOOK_SECRET_KEY_FILE")
        return _decoded(raw, "webhook_secret_key")

    @model_validator(mode="after")
    def _key_outside_development(self) -> CapacityHubSettings:
        if self.environment != "development" and \
                base64.b64encode(self._current_key()).decode() == _DEV_SECRET_KEY:
            raise ValueError("webhook_secret_key is the development key; set a real one outside development")
        return self


def _decoded(raw: str, name: str) -> bytes:
    try:
        value = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ValueError(f"{name} must be base64") from None
    if len(value) != 32:
        raise ValueError(f"{name} must be 32 bytes (AES-256)")
    return value
