"""Intake's settings (VERBINDING_* variables)."""

from verbinding_common.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    identity_audience: str | None = "intake"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/intake"
