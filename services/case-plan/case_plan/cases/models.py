"""The case table (one per person, assigned or waitlisted or closed) and the case schemas."""

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.routes import RequestModel

from ..case_managers.models import CaseManagerRead
from ..database import Base
from ..employment.models import CaseEmployment


class CaseStatus(StrEnum):
    assigned = "assigned"
    waitlisted = "waitlisted"
    closed = "closed"


class Case(Base):
    """A newcomer's case: support for up to 3 years from recognition (docs/domain.md)."""

    __tablename__ = "case"
    __table_args__ = (
        CheckConstraint("status IN ('assigned', 'waitlisted', 'closed')", name="status_known"),
        CheckConstraint(
            "(status = 'assigned' AND case_manager_id IS NOT NULL)"
            " OR (status = 'waitlisted' AND case_manager_id IS NULL)"
            " OR status = 'closed'",
            name="assigned_has_manager_waitlisted_has_none",
        ),
        CheckConstraint("support_until > recognised_on", name="support_after_recognition"),
        # The waitlist, in the order it is served: recognition date, then arrival.
        Index("ix_case_waitlist", "recognised_on", "arrival_seq", postgresql_where=text("status = 'waitlisted'")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    # One case per person, also when intake's event is delivered twice under different ids.
    person_id: Mapped[UUID] = mapped_column(unique=True)
    household_id: Mapped[UUID | None]
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(35)), server_default=text("'{}'"))
    recognised_on: Mapped[date] = mapped_column(Date)
    support_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    # Kept after closing: who held the case.
    case_manager_id: Mapped[UUID | None] = mapped_column(ForeignKey("case_manager.id"), index=True)
    arrival_seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    close_reason: Mapped[str | None] = mapped_column(Text)


class CaseRead(BaseModel):
    case_id: UUID
    person_id: UUID
    status: CaseStatus
    case_manager_id: UUID | None
    recognised_on: date
    opened_at: datetime
    support_until: date
    closed_at: datetime | None
    close_reason: str | None
    waitlist_position: int | None = Field(description="1 for the head of the waitlist; null unless waitlisted")
    employment: CaseEmployment


class CaseClose(RequestModel):
    reason: str = Field(min_length=1, max_length=500)


class CaseloadRead(BaseModel):
    case_manager: CaseManagerRead
    cases: list[CaseRead]


class WaitlistEntryRead(BaseModel):
    case_id: UUID
    person_id: UUID
    recognised_on: date
    position: int
