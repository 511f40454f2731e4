"""Settings of case-plan (VERBINDING_* variables)."""

from pydantic import Field

from verbinding_common.settings import ServiceSettings


class CasePlanSettings(ServiceSettings):
    service_name: str = "case-plan"
    identity_audience: str | None = "case-plan"
    # Four eyes: the author of a plan version may not approve it, unless a municipality chooses otherwise.
    allow_self_approval: bool = False
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/case_plan"

    # Retention (docs/domain.md "Retention and legal grounds"): a person's case goes with intake's erasure, and at
    # the latest this many days after it closed; the access audit has its own.
    closed_case_retention_days: int = Field(default=730, ge=0)
    access_audit_retention_days: int = Field(default=1826, ge=1)
    privacy_retention_interval_s: float = Field(default=3600.0, gt=0)
    retention_batch_size: int = Field(default=200, ge=1)
