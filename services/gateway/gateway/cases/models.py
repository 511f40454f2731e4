"""What the gateway takes in for case-plan (typed, so the public API document describes every body)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from verbinding_common.contracts.intake import Domain

# case-plan's own rule: nobody counsels more than 50 people at a time.
MAX_CAPACITY = 50
Capacity = Annotated[int, Field(ge=1, le=MAX_CAPACITY)]
Language = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=35)]


class CaseCloseBody(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why the case closes (shown to the team)")


class ObjectiveBody(BaseModel):
    domain: Domain
    term: Literal["short_term", "long_term"]
    description: str = Field(min_length=1, max_length=2000)
    target_date: date
    status: Literal["planned", "active", "achieved", "dropped"] = "planned"


class ActionPlanBody(BaseModel):
    objectives: list[ObjectiveBody] = Field(min_length=1, max_length=100,
                                            description="the whole plan: every revision is a new version")


class CaseManagerCreateBody(BaseModel):
    subject: str = Field(min_length=1, max_length=128, description="the user login the gateway puts in the identity")
    name: str = Field(min_length=1, max_length=200)
    languages: list[Language] = Field(default_factory=list, max_length=20)
    capacity: Capacity = MAX_CAPACITY


class CaseManagerUpdateBody(BaseModel):
    capacity: Capacity
