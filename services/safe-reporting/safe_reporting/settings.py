"""Settings of safe-reporting (VERBINDING_* variables): its database, the keys only it holds, its jobs."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

from pydantic import Field, PrivateAttr, SecretStr, model_validator

from verbinding_common.sealing import Keyring
from verbinding_common.settings import ServiceSettings

# Development-only keys: derived from a public phrase, so refused anywhere else (see _keys_outside_development).
_DEV_REPORT_KEY = base64.b64encode(hashlib.sha256(b"verbinding development report key").digest()).decode()
_DEV_PEPPER = base64.b64encode(hashlib.sha256(b"verbinding development receipt pepper").digest()).decode()


class SafeReportingSettings(ServiceSettings):
    service_name: str = "safe-reporting"
    identity_audience: str | None = "safe-reporting"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/safe_reporting"

    # The key-encryption key that wraps every report's data key (base64 of 32 bytes), and its id. Old keys stay
    # readable under their ids (VERBINDING_PREVIOUS_REPORT_KEYS='{"k0": "<base64>"}') while reports are re-wrapped.
    report_key: SecretStr | None = None
    report_key_file: Path | None = None
    report_key_id: str = Field(default="k1", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    previous_report_keys: dict[str, SecretStr] = Field(default_factory=dict)
    # The pepper of receipt look-ups (base64, at least 32 bytes).
    receipt_pepper: SecretStr | None = None
    receipt_pepper_file: Path | None = None

    # Guessing receipts is slowed per receipt prefix (reports/throttle.py): at most this many failed look-ups per
    # window in a prefix's bucket; a bucket counts at most `receipt_failures_per_day` in any 24 h, which bounds how
    # long anyone can keep a reporter locked out (failures_per_day x window / failures_per_window + one window).
    receipt_failures_per_window: int = Field(default=30, ge=1)
    receipt_window_s: float = Field(default=60.0, gt=0)
    receipt_failures_per_day: int = Field(default=300, ge=1)

    # Admission control: at most this many new reports in flight per process; past it, 503 + Retry-After at once.
    report_submissions_in_flight: int = Field(default=8, ge=1)
    # A retried report answers with its receipt (Idempotency-Key) within this window only: the receipt is kept,
    # sealed under a key derived from the client's Idempotency-Key, no longer than needed, then purged.
    idempotency_retention_hours: int = Field(default=1, ge=1)

    statistics_interval_s: float = Field(default=300.0, gt=0)
    statistics_weeks: int = Field(default=8, ge=1, le=520)
    closed_report_retention_days: int = Field(default=180, ge=1)
    # Open reports with no activity for this long are closed (then purged after the retention above).
    inactive_report_days: int = Field(default=365, ge=1)
    purge_interval_s: float = Field(default=3600.0, gt=0)

    def report_key_bytes(self) -> bytes:
        return _key(self.report_key, self.report_key_file, self._fallback(_DEV_REPORT_KEY, "report_key"), "report_key")

    def report_keyring(self) -> Keyring:
        """The current key-encryption key and the previous ones still readable, by id."""
        keys = {self.report_key_id: self.report_key_bytes()[:32]}
        keys.update({kid: base64.b64decode(value.get_secret_value())[:32]
                     for kid, value in self.previous_report_keys.items()})
        return Keyring(keys=keys, current=self.report_key_id)

    def receipt_pepper_bytes(self) -> bytes:
        return _key(self.receipt_pepper, self.receipt_pepper_file, self._fallback(_DEV_PEPPER, "receipt_pepper"),
                    "receipt_pepper")

    def _fallback(self, development_key: str, name: str) -> str | None:
        """Development: the public development key. Test: a key of this process only (reports made with it cannot
        be read by another). Production: none (start-up refuses)."""
        if self._dev:
            return development_key
        if self.environment == "test":
            return self._ephemeral.setdefault(name, base64.b64encode(secrets.token_bytes(32)).decode())
        return None

    _ephemeral: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def _dev(self) -> bool:
        return self.environment == "development"

    @model_validator(mode="after")
    def _keys_outside_development(self) -> SafeReportingSettings:
        if self._dev:
            return self
        for name in ("report_key", "receipt_pepper"):
            value = _key(getattr(self, name), getattr(self, f"{name}_file"), self._fallback("", name), name)
            if base64.b64encode(value).decode() in (_DEV_REPORT_KEY, _DEV_PEPPER):
                raise ValueError(f"{name} is the development key; set a real one outside development")
        return self


def _key(inline: SecretStr | None, file: Path | None, default: str | None, name: str) -> bytes:
    raw = inline.get_secret_value() if inline is not None else None
    if raw is None and file is not None:
        raw = Path(file).read_text().strip()
    if raw is None:
        raw = default
    if raw is None:
        raise ValueError(f"{name} is not set: give VERBINDING_{name.upper()} or VERBINDING_{name.upper()}_FILE")
    try:
        value = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ValueError(f"{name} must be base64") from None
    if len(value) < 32:
        raise ValueError(f"{name} must be at least 32 bytes")
    return value
