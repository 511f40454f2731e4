"""The person table and how a person is shown to municipal staff."""

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base
from ..interviews.models import InterviewRead

if TYPE_CHECKING:
    from ..interviews.models import Interview

IN_INTAKE = "in_intake"


class Person(Base):
    """A newcomer with refugee status, in intake from the moment the COA recognised them."""

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint("gender IN ('female', 'male', 'x')", name="gender"),
        CheckConstraint(f"status IN ('{IN_INTAKE}')", name="status"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # Unique: at-least-once delivery from the COA must never make a second person.
    coa_registration_number: Mapped[str] = mapped_column(String(20), unique=True)
    family_name: Mapped[str] = mapped_column(String(200))
    given_names: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(8))
    country_of_origin: Mapped[str] = mapped_column(String(3))
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text))
    reception_centre: Mapped[str] = mapped_column(String(200))
    recognised_on: Mapped[date] = mapped_column(Date)
    household_id: Mapped[UUID] = mapped_column(ForeignKey("household.id"), index=True)
    family_reunification: Mapped[bool]
    # The partner's COA number as the recognition named it; a partner who arrives later joins this household.
    family_reunification_with: Mapped[str | None] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(16), default=IN_INTAKE)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    interview: Mapped["Interview | None"] = relationship(lazy="raise", uselist=False)


class PersonRead(BaseModel):
    person_id: UUID
    coa_registration_number: str
    family_name: str
    given_names: str
    date_of_birth: date
    gender: Literal["female", "male", "x"]
    country_of_origin: str
    languages: list[str]
    reception_centre: str
    recognised_on: date
    household_id: UUID
    family_reunification: bool
    status: Literal["in_intake"]
    registered_at: datetime
    interview: InterviewRead | None

    @classmethod
    def of(cls, person: Person) -> "PersonRead":
        return cls(
            person_id=person.id, coa_registration_number=person.coa_registration_number,
            family_name=person.family_name, given_names=person.given_names, date_of_birth=person.date_of_birth,
            gender=person.gender, country_of_origin=person.country_of_origin, languages=person.languages,
            reception_centre=person.reception_centre, recognised_on=person.recognised_on,
            household_id=person.household_id, family_reunification=person.family_reunification,
            status=person.status, registered_at=person.registered_at,
            interview=InterviewRead.of(person.interview) if person.interview is not None else None,
        )
