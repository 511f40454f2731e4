"""What the gateway takes in for employment (typed, so the public API document describes every body)."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from verbinding_common.contracts.employment import ContractType, PlacementEndReason, RetentionOutcome, Sector

CefrLevel = Literal["A0", "A1", "A2", "B1", "B2", "C1", "C2"]
Hours = Field(ge=1, le=60, description="hours a week")


class JobHunterCreateBody(BaseModel):
    subject: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._@-]+$",
                         description="the user login the gateway puts in the identity")
    name: str = Field(min_length=1, max_length=200)


class JobHunterAssignBody(BaseModel):
    job_hunter_id: UUID | None = Field(default=None, description="null: the job hunter with the fewest job seekers")


class JobSeekerUpdateBody(BaseModel):
    hours_wanted: int = Hours


class EmployerCreateBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    sector: Sector


class VacancyCreateBody(BaseModel):
    employer_id: UUID
    title: str = Field(min_length=1, max_length=200)
    sector: Sector
    occupation: str = Field(pattern=r"^[0-9]{1,4}$", description="ISCO-08 occupation group, 1 to 4 digits")
    education_level: int = Field(ge=0, le=8, description="ISCED 2011 level asked")
    dutch_level: CefrLevel
    years_of_experience: int = Field(default=0, ge=0, le=50)
    hours_per_week: int = Hours
    contract_type: ContractType
    duration_months: int | None = Field(default=None, ge=1, le=120)
    location: str = Field(min_length=1, max_length=100)
    starts_on: date
    openings: int = Field(default=1, ge=1, le=1000)


class PlacementCreateBody(BaseModel):
    employer_id: UUID
    vacancy_id: UUID | None = None
    contract_type: ContractType
    hours_per_week: int = Hours
    sector: Sector
    started_on: date
    ends_on: date | None = None


class PlacementEndBody(BaseModel):
    ended_on: date
    reason: PlacementEndReason


class RetentionOutcomeBody(BaseModel):
    outcome: RetentionOutcome
