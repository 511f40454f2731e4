"""Settings of employment (VERBINDING_* variables)."""

from verbinding_common.settings import ServiceSettings


class EmploymentSettings(ServiceSettings):
    service_name: str = "employment"
    identity_audience: str | None = "employment"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/employment"
