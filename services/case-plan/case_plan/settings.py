"""Settings of case-plan (VERBINDING_* variables)."""

from verbinding_common.settings import ServiceSettings


class CasePlanSettings(ServiceSettings):
    service_name: str = "case-plan"
    identity_audience: str | None = "case-plan"
    # Four eyes: the author of a plan version may not approve it, unless a municipality chooses otherwise.
    allow_self_approval: bool = False
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/case_plan"
