"""Intake's settings (VERBINDING_* variables)."""

from pydantic import Field

from verbinding_common.settings import ServiceSettings


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
