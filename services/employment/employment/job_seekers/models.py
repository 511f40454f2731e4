"""Job hunters and job seekers: the copy of a person employment keeps (codes only: no name, birth date or COA
number ever reaches this service), and the schemas shown for them."""

from datetime import date, datetime
from typing import Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Identity, SmallInteger, String, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.routes import RequestModel

from ..database import Base

CefrLevel = Literal["A0", "A1", "A2", "B1", "B2", "C1", "C2"]
CEFR_LEVELS: tuple[str, ...] = ("A0", "A1", "A2", "B1", "B2", "C1", "C2")
IscoCode = Field(pattern=r"^[0-9]{1,4}$", description="ISCO-08 occupation group: 1 (major) to 4 (unit) digits")
IscedLevel = Field(ge=0, le=8, description="ISCED 2011 level, 0 (early childhood) to 8 (doctoral)")


class JobHunter(Base):
    """A job hunter of the city: coaches their own job seekers towards lasting work."""

    __tablename__ = "job_hunter"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    subject: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    joined_seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)


class CaseManager(Base):
    """A case manager as case-plan announced them: who may read the employment of the persons whose case they hold."""

    __tablename__ = "case_manager"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(128), index=True)
    team: Mapped[str | None] = mapped_column(String(64))


class JobSeeker(Base):
    """A person employment works for, assembled from intake's and case-plan's events in whatever order they come."""

    __tablename__ = "job_seeker"
    __table_args__ = (
        CheckConstraint("education_level BETWEEN 0 AND 8", name="education_level_isced"),
        CheckConstraint("hours_wanted BETWEEN 1 AND 60", name="hours_wanted_in_range"),
    )

    person_id: Mapped[UUID] = mapped_column(primary_key=True)
    # Null until intake's PersonRegistered arrived (case-plan's events may come first).
    recognised_on: Mapped[date | None] = mapped_column(Date, index=True)
    gender: Mapped[str | None] = mapped_column(String(8))
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(35)), default=list)
    education_level: Mapped[int | None] = mapped_column(SmallInteger)
    occupation: Mapped[str | None] = mapped_column(String(4))  # ISCO-08 sub-major group (2 digits)
    years_of_experience: Mapped[int | None] = mapped_column(SmallInteger)
    dutch_level: Mapped[str | None] = mapped_column(String(2))
    hours_wanted: Mapped[int] = mapped_column(SmallInteger, default=32)
    district: Mapped[str | None] = mapped_column(String(16))  # where they live, as their job hunter recorded it
    case_id: Mapped[UUID | None]
    case_manager_id: Mapped[UUID | None]
    case_closed_on: Mapped[date | None] = mapped_column(Date)
    job_hunter_id: Mapped[UUID | None] = mapped_column(ForeignKey("job_hunter.id"), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class JobHunterCreate(RequestModel):
    subject: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._@-]+$")
    name: str = Field(min_length=1, max_length=200)


class JobHunterRead(BaseModel):
    job_hunter_id: UUID
    subject: str
    name: str
    job_seekers: int

    @classmethod
    def of(cls, hunter: JobHunter, job_seekers: int) -> "JobHunterRead":
        return cls(job_hunter_id=hunter.id, subject=hunter.subject, name=hunter.name, job_seekers=job_seekers)


class JobHunterAssign(RequestModel):
    job_hunter_id: UUID | None = Field(default=None, description="null: the job hunter with the fewest job seekers")


class JobSeekersReassign(RequestModel):
    """Job seekers given to one job hunter at once: named, or every one of another job hunter (who leaves)."""

    person_ids: list[UUID] = Field(default_factory=list, max_length=500)
    from_job_hunter_id: UUID | None = Field(default=None, description="every job seeker of this job hunter")

    @model_validator(mode="after")
    def _one_way(self) -> "JobSeekersReassign":
        if bool(self.person_ids) == (self.from_job_hunter_id is not None):
            raise ValueError("give either person_ids or from_job_hunter_id")
        return self


class JobSeekersReassigned(BaseModel):
    job_hunter_id: UUID
    reassigned: int


class JobSeekerUpdate(RequestModel):
    hours_wanted: int | None = Field(default=None, ge=1, le=60)
    district: Literal["centrum", "west", "nieuw_west", "zuid", "oost", "noord", "zuidoost", "westpoort",
                      "weesp"] | None = Field(default=None, description="the Amsterdam district they live in")


class JobSeekerRead(BaseModel):
    person_id: UUID
    recognised_on: date | None
    gender: str | None
    languages: list[str]
    education_level: int | None
    occupation: str | None
    years_of_experience: int | None
    dutch_level: str | None
    hours_wanted: int
    district: str | None
    case_id: UUID | None
    case_open: bool
    job_hunter_id: UUID | None

    @classmethod
    def of(cls, seeker: JobSeeker) -> "JobSeekerRead":
        return cls(person_id=seeker.person_id, recognised_on=seeker.recognised_on, gender=seeker.gender,
                   languages=seeker.languages or [], education_level=seeker.education_level,
                   occupation=seeker.occupation, years_of_experience=seeker.years_of_experience,
                   dutch_level=seeker.dutch_level, hours_wanted=seeker.hours_wanted, district=seeker.district,
                   case_id=seeker.case_id,
                   case_open=seeker.case_id is not None and seeker.case_closed_on is None,
                   job_hunter_id=seeker.job_hunter_id)
