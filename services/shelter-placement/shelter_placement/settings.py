"""Settings of shelter-placement (VERBINDING_* variables)."""

from pydantic import Field

from verbinding_common.settings import ServiceSettings


class ShelterPlacementSettings(ServiceSettings):
    service_name: str = "shelter-placement"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/shelter_placement"

    # Emergency bed-bath-bread places have no fixed maximum in the programme: the municipality sets it.
    emergency_stay_days: int = Field(default=30, ge=1, le=366)
    # How long before a stay's end its warning comes due, and how often due warnings are looked for.
    stay_warning_lead_days: int = Field(default=28, ge=0, le=180)
    stay_warning_check_interval_s: float = Field(default=60.0, gt=0)
