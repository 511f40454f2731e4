"""Intake's settings (VERBINDING_* variables)."""

import base64
import hashlib
from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from verbinding_common.settings import ServiceSettings

# Development and test only: derived from a public phrase, so refused in production (see _pepper_in_production).
_DEV_ERASURE_PEPPER = base64.b64encode(hashlib.sha256(b"verbinding development erasure pepper").digest()).decode()


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    identity_audience: str | None = "intake"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/intake"

    # Retention (docs/domain.md "Retention and legal grounds"): a person's records go this many days after support
    # ends (3 years from recognition, or the case's closure if earlier); rejected recognitions and the access audit
    # have their own.
    person_retention_days: int = Field(default=730, ge=0)
    rejected_recognition_retention_days: int = Field(default=90, ge=0)
    access_audit_retention_days: int = Field(default=1826, ge=1)
    # An access request's export can be downloaded this long, then it is purged; the services expected to answer.
    access_export_days: int = Field(default=30, ge=1)
    access_request_sources: tuple[str, ...] = ("case-plan", "employment")
    privacy_retention_interval_s: float = Field(default=3600.0, gt=0)
    retention_batch_size: int = Field(default=200, ge=1)
    # An erased person's COA number is remembered this long as a keyed hash (never the number itself): a recognition
    # of it sent again in that time is rejected (`erased`) instead of registering the person again.
    erased_coa_number_days: int = Field(default=365, ge=0)
    # The key of that hash (base64, at least 32 bytes): without it the hashes cannot be tested against numbers.
    erasure_pepper: SecretStr | None = None
    erasure_pepper_file: Path | None = None

    def erasure_pepper_bytes(self) -> bytes:
        raw = self.erasure_pepper.get_secret_value() if self.erasure_pepper is not None else None
        if raw is None and self.erasure_pepper_file is not None:
            raw = Path(self.erasure_pepper_file).read_text().strip()
        if raw is None and self.environment != "production":
            raw = _DEV_ERASURE_PEPPER
        if raw is None:
            raise ValueError("erasure_pepper is not set: give VERBINDING_ERASURE_PEPPER or "
                             "VERBINDING_ERASURE_PEPPER_FILE")
        try:
            value = base64.b64decode(raw, validate=True)
        except ValueError:
            raise ValueError("erasure_pepper must be base64") from None
        if len(value) < 32:
            raise ValueError("erasure_pepper must be at least 32 bytes")
        return value

    @model_validator(mode="after")
    def _pepper_checked(self) -> "IntakeSettings":
        pepper = self.erasure_pepper_bytes()  # missing or malformed: refused at start, not at the first erasure
        if self.environment == "production" and base64.b64encode(pepper).decode() == _DEV_ERASURE_PEPPER:
            raise ValueError("erasure_pepper is the development key; set a real one in production")
        return self
