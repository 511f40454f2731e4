"""The interview and consent tables, and the interview as recorded and shown."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verbinding_common.contracts.intake import CefrLevel, Domain, IscedLevel, IscoCode

from ..database import Base

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Interview(Base):
    """The intake interview of one person; recording it again replaces it."""

    __tablename__ = "interview"

    person_id: Mapped[UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    education_level: Mapped[str] = mapped_column(String(200))
    profession: Mapped[str | None] = mapped_column(String(200))
    years_of_work_experience: Mapped[int]
    dutch_level: Mapped[str] = mapped_column(String(2))
    other_languages: Mapped[list[dict[str, str]]] = mapped_column(JSONB)
    domains_of_need: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(255))

    consents: Mapped[list["Consent"]] = relationship(lazy="raise", order_by="Consent.organisation")


class Consent(Base):
    """Consent to share the person's intake with one named partner organisation."""

    __tablename__ = "consent"

    person_id: Mapped[UUID] = mapped_column(ForeignKey("interview.person_id", ondelete="CASCADE"),
                                            primary_key=True)
    organisation: Mapped[str] = mapped_column(String(200), primary_key=True)
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LanguageLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=50)]
    level: CefrLevel


class InterviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Codes, not free text: what a person studied or did for work is recorded as a level and an occupation group.
    education_level: IscedLevel = Field(description="highest education completed: ISCED 2011 level 0-8")
    profession: IscoCode | None = Field(default=None, description="last occupation: ISCO-08 code (1-4 digits)")
    years_of_work_experience: int = Field(ge=0, le=80)
    dutch_level: CefrLevel
    other_languages: list[LanguageLevel] = Field(default_factory=list, max_length=20)
    domains_of_need: list[Domain] = Field(min_length=1)
    consent_partners: list[Name] = Field(default_factory=list, max_length=50,
                                         description="partner organisations the person consents to share with")


class ConsentRead(BaseModel):
    organisation: str
    given_at: datetime


class InterviewRead(BaseModel):
    person_id: UUID
    education_level: IscedLevel
    profession: str | None
    years_of_work_experience: int
    dutch_level: CefrLevel
    other_languages: list[LanguageLevel]
    domains_of_need: list[Domain]
    consent_partners: list[ConsentRead]
    recorded_at: datetime
    recorded_by: str

    @classmethod
    def of(cls, interview: Interview) -> "InterviewRead":
        return cls(
            person_id=interview.person_id, education_level=int(interview.education_level),
            profession=interview.profession, years_of_work_experience=interview.years_of_work_experience,
            dutch_level=interview.dutch_level,
            other_languages=[LanguageLevel(**item) for item in interview.other_languages],
            domains_of_need=[Domain(d) for d in interview.domains_of_need],
            consent_partners=[ConsentRead(organisation=c.organisation, given_at=c.given_at)
                              for c in interview.consents],
            recorded_at=interview.recorded_at, recorded_by=interview.recorded_by,
        )
