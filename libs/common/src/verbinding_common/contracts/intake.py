"""Events intake publishes on `intake.persons.v1`: only what case-plan and employment need of a person."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from ..events import EventContract, contract


class Domain(StrEnum):
    """Domains of need and of action-plan objectives: the domains the Amsterdam Approach works in at the same time."""

    work = "work"
    education = "education"
    health_care = "health_care"
    housing = "housing"
    participation = "participation"
    language = "language"


@contract
class PersonRegistered(EventContract):
    """A newcomer with status is in intake. No name, birth date or COA number: other services do not need them."""

    event_type: ClassVar[str] = "intake.person-registered.v1"
    topic: ClassVar[str] = "intake.persons.v1"
    key_field: ClassVar[str] = "person_id"

    person_id: UUID = Field(description="the person in intake; the key of every event about them")
    household_id: UUID = Field(description="the person's household (a partner arriving by family reunification "
                                           "joins the partner's)")
    recognised_on: date = Field(description="the day the COA recognised the person's refugee status: support runs "
                                            "3 years from it")
    gender: Literal["female", "male", "x"] = Field(description="as the COA recorded it: for gender-sensitive "
                                                               "coaching and monitoring")
    languages: list[str] = Field(default_factory=list, description="languages spoken, ISO 639-1 codes, best first: "
                                                                   "a case manager who shares one is preferred")
    family_reunification: bool = Field(
        description="arrived by family reunification: gets an intake and case of their own")


@contract
class InterviewCompleted(EventContract):
    """The intake interview is done: what the action plan and job hunting start from."""

    event_type: ClassVar[str] = "intake.interview-completed.v1"
    topic: ClassVar[str] = "intake.persons.v1"
    key_field: ClassVar[str] = "person_id"

    person_id: UUID = Field(description="the person in intake")
    education_level: str = Field(description="the highest level of education the person reached")
    profession: str | None = Field(default=None, description="the person's profession, if they have one")
    years_of_work_experience: int = Field(ge=0, description="years of paid work")
    dutch_level: str = Field(description="CEFR level of Dutch: A0, A1 … C2")
    domains_of_need: list[Domain] = Field(description="the domains the person needs support in: where the "
                                                      "action plan starts")
    consent_partners: list[str] = Field(default_factory=list,
                                        description="partner organisations the person consented to share with")
