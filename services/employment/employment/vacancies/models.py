"""Employers and vacancies, and the schemas of a ranked vacancy with its score per component."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, SmallInteger, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.contracts.employment import ContractType, Sector
from verbinding_common.routes import RequestModel

from ..database import Base
from ..job_seekers.models import CefrLevel, IscedLevel, IscoCode, JobSeekerRead

LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]


class District(StrEnum):
    """Amsterdam's districts (stadsdelen, with Westpoort and Weesp): where a vacancy is, as a code."""

    centrum = "centrum"
    west = "west"
    nieuw_west = "nieuw_west"
    zuid = "zuid"
    oost = "oost"
    noord = "noord"
    zuidoost = "zuidoost"
    westpoort = "westpoort"
    weesp = "weesp"


class Employer(Base):
    __tablename__ = "employer"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    name: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(32))


class Vacancy(Base):
    """An employer's vacancy: what it asks (occupation, education, Dutch, experience) and what it offers."""

    __tablename__ = "vacancy"
    __table_args__ = (
        CheckConstraint("openings >= 0", name="openings_not_negative"),
        CheckConstraint("hours_per_week BETWEEN 1 AND 60", name="hours_in_range"),
        CheckConstraint("contract_type IN ('temporary', 'fixed_term', 'permanent')", name="contract_type_known"),
        # The list pages newest first by (created_at, id); open vacancies are most of what is asked for.
        Index("ix_vacancy_listing", "created_at", "id"),
        Index("ix_vacancy_open_listing", "created_at", "id",
              postgresql_where=text("closed_on IS NULL AND openings > 0")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    employer_id: Mapped[UUID] = mapped_column(ForeignKey("employer.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(32))
    occupation: Mapped[str] = mapped_column(String(4))
    education_level: Mapped[int] = mapped_column(SmallInteger)
    dutch_level: Mapped[str] = mapped_column(String(2))
    years_of_experience: Mapped[int] = mapped_column(SmallInteger, default=0)
    hours_per_week: Mapped[int] = mapped_column(SmallInteger)
    contract_type: Mapped[str] = mapped_column(String(16))
    duration_months: Mapped[int | None] = mapped_column(SmallInteger)
    location: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date] = mapped_column(Date)
    openings: Mapped[int] = mapped_column(SmallInteger, default=1)
    district: Mapped[str | None] = mapped_column(String(16))
    # Languages other than Dutch the work can be done in (ISO 639-1): speaking one counts as the Dutch asked.
    accepted_languages: Mapped[list[str]] = mapped_column(ARRAY(String(2)), server_default=text("'{}'"),
                                                          default=list)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EmployerCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    sector: Sector


class EmployerRead(BaseModel):
    employer_id: UUID
    name: str
    sector: Sector


class VacancyCreate(RequestModel):
    employer_id: UUID
    title: str = Field(min_length=1, max_length=200)
    sector: Sector
    occupation: str = IscoCode
    education_level: int = IscedLevel
    dutch_level: CefrLevel
    years_of_experience: int = Field(default=0, ge=0, le=50)
    hours_per_week: int = Field(ge=1, le=60)
    contract_type: ContractType
    duration_months: int | None = Field(default=None, ge=1, le=120,
                                        description="length of a temporary or fixed-term contract")
    location: str = Field(min_length=1, max_length=100)
    district: District | None = Field(default=None, description="the Amsterdam district of the workplace")
    accepted_languages: list[LanguageCode] = Field(
        default_factory=list, max_length=10,
        description="languages other than Dutch the work can be done in (ISO 639-1): speaking one counts as the "
                    "Dutch asked")
    starts_on: date
    openings: int = Field(default=1, ge=1, le=1000)


class VacancyUpdate(RequestModel):
    """What may change in a vacancy: every field but its employer; only the fields sent change."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    sector: Sector | None = None
    occupation: str | None = Field(default=None, pattern=r"^[0-9]{1,4}$")
    education_level: int | None = Field(default=None, ge=0, le=8)
    dutch_level: CefrLevel | None = None
    years_of_experience: int | None = Field(default=None, ge=0, le=50)
    hours_per_week: int | None = Field(default=None, ge=1, le=60)
    contract_type: ContractType | None = None
    duration_months: int | None = Field(default=None, ge=1, le=120)
    location: str | None = Field(default=None, min_length=1, max_length=100)
    district: District | None = None
    accepted_languages: list[LanguageCode] | None = Field(default=None, max_length=10)
    starts_on: date | None = None
    openings: int | None = Field(default=None, ge=0, le=1000)


class VacancyRead(VacancyCreate):
    vacancy_id: UUID
    employer_name: str
    openings: int = Field(ge=0)
    closed_on: date | None = Field(description="the day the vacancy was closed; null while it is not")
    open: bool = Field(description="not closed and with an opening left: matching ranks it")

    @classmethod
    def of(cls, vacancy: Vacancy, employer_name: str) -> "VacancyRead":
        return cls(vacancy_id=vacancy.id, employer_id=vacancy.employer_id, employer_name=employer_name,
                   title=vacancy.title, sector=Sector(vacancy.sector), occupation=vacancy.occupation,
                   education_level=vacancy.education_level, dutch_level=vacancy.dutch_level,  # type: ignore[arg-type]
                   years_of_experience=vacancy.years_of_experience, hours_per_week=vacancy.hours_per_week,
                   contract_type=ContractType(vacancy.contract_type), duration_months=vacancy.duration_months,
                   location=vacancy.location, district=District(vacancy.district) if vacancy.district else None,
                   accepted_languages=vacancy.accepted_languages or [],
                   starts_on=vacancy.starts_on, openings=vacancy.openings, closed_on=vacancy.closed_on,
                   open=vacancy.closed_on is None and vacancy.openings > 0)


class VacancyPage(BaseModel):
    """One page of vacancies, newest first; `next_cursor` asks for the next page (null on the last)."""

    vacancies: list[VacancyRead]
    next_cursor: str | None


VacancyStatus = Literal["open", "closed", "all"]


class FitScore(BaseModel):
    """The score of one vacancy for one person, per component (docs/employment-matching.md)."""

    education_profession: int = Field(description="0-35: occupation group shared (ISCO-08) and education (ISCED)")
    experience: int = Field(description="0-15: years of experience against what the vacancy asks")
    language: int = Field(description="0-20: Dutch level (CEFR) against what the vacancy asks")
    hours: int = Field(description="0-15: hours offered against hours wanted")
    lasting_work: int = Field(description="0-15: permanent 15, fixed-term of 12+ months 10, shorter 6, temporary 0")
    total: int = Field(description="0-100: the sum; vacancies are ranked by it")


MISSING = Field(default_factory=list, description="what the person lacks for this vacancy, in words, e.g. \"Dutch B1 "
                                                  "needed, A2 now\": what to work on with the case manager")


DISTANCE = Field(default=None, description="between the job seeker's district and the vacancy's, centre to centre; "
                                           "null when either is unknown. Only orders equal fits.")


class RankedVacancy(BaseModel):
    rank: int
    vacancy: VacancyRead
    score: FitScore
    missing: list[str] = MISSING
    distance_km: float | None = DISTANCE


class RankedCandidate(BaseModel):
    """A job seeker ranked for one vacancy, by the formula that ranks vacancies for a job seeker."""

    rank: int
    job_seeker: JobSeekerRead
    score: FitScore
    missing: list[str] = MISSING
    distance_km: float | None = DISTANCE
