"""Events the COA (national reception agency) sends: one per recognised refugee status."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from ..events import EventContract, contract

CoaNumber = Field(min_length=4, max_length=20, pattern=r"^[A-Za-z0-9-]+$",
                  description="COA registration number (V-number): the person's identity across deliveries")


@contract
class StatusRecognised(EventContract):
    """The COA recognised a person's refugee status; intake starts while they still live in a reception centre."""

    event_type: ClassVar[str] = "coa.status-recognised.v1"
    topic: ClassVar[str] = "coa.status-recognitions.v1"
    key_field: ClassVar[str] = "coa_registration_number"
    # The COA pushes to the gateway, which publishes for it, or produces straight to the topic.
    producers: ClassVar[tuple[str, ...]] = ("gateway", "coa")

    coa_registration_number: str = CoaNumber
    recognised_on: date = Field(description="the day refugee status was granted")
    family_name: str = Field(min_length=1, max_length=200, description="stays in intake; never in another event")
    given_names: str = Field(min_length=1, max_length=200, description="stays in intake; never in another event")
    date_of_birth: date = Field(description="stays in intake; never in another event")
    gender: Literal["female", "male", "x"] = Field(description="as the COA recorded it")
    country_of_origin: str = Field(min_length=2, max_length=3, description="ISO 3166-1 alpha-2 or alpha-3 code")
    languages: list[str] = Field(default_factory=list, max_length=20,
                                 description="languages spoken, ISO 639-1 codes, best first")
    reception_centre: str = Field(min_length=1, max_length=200, description="the COA location the person lives in")
    family_reunification_with: str | None = Field(
        default=None, min_length=4, max_length=20, pattern=r"^[A-Za-z0-9-]+$",
        description="COA number of the partner already here, when this person arrives by family reunification")
