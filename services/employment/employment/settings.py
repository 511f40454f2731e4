"""Settings of employment (VERBINDING_* variables)."""

from pydantic import Field

from verbinding_common.settings import ServiceSettings


class EmploymentSettings(ServiceSettings):
    service_name: str = "employment"
    identity_audience: str | None = "employment"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/employment"
    # How often retention checks that came due (or overdue) are looked for and announced.
    retention_announce_interval_s: float = Field(default=60.0, gt=0)
