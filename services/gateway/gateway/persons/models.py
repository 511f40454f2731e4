"""What the gateway takes in for intake (typed, so the public API document describes every body)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from verbinding_common.contracts.intake import CefrLevel, Domain, IscedLevel, IscoCode

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class LanguageLevelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=50)]
    level: CefrLevel


class InterviewBody(BaseModel):
    """The intake interview: codes, not free text, for education and profession."""

    model_config = ConfigDict(extra="forbid")

    education_level: IscedLevel = Field(description="highest education completed: ISCED 2011 level 0-8")
    profession: IscoCode | None = Field(default=None, description="last occupation: ISCO-08 code (1-4 digits)")
    years_of_work_experience: int = Field(ge=0, le=80)
    dutch_level: CefrLevel
    other_languages: list[LanguageLevelBody] = Field(default_factory=list, max_length=20)
    domains_of_need: list[Domain] = Field(min_length=1)
    consent_partners: list[Name] = Field(default_factory=list, max_length=50,
                                         description="partner organisations the person consents to share with")
