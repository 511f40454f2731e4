"""Settings of employment (VERBINDING_* variables)."""

from pydantic import Field

from verbinding_common.settings import ServiceSettings


class EmploymentSettings(ServiceSettings):
    service_name: str = "employment"
    identity_audience: str | None = "employment"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/employment"
    # How often retention checks that came due (or overdue) are looked for and announced.
    retention_announce_interval_s: float = Field(default=60.0, gt=0)

    # Retention (docs/domain.md "Retention and legal grounds"): a job seeker goes with intake's erasure, and at the
    # latest this many days after their case closed; the access audit has its own.
    job_seeker_retention_days: int = Field(default=730, ge=0)
    access_audit_retention_days: int = Field(default=1826, ge=1)
    privacy_retention_interval_s: float = Field(default=3600.0, gt=0)
    retention_batch_size: int = Field(default=200, ge=1)
