"""Placements and their retention checks (stored rows with due dates: they come due without any timer), and
their schemas."""

from datetime import date, datetime
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.contracts.employment import ContractType, PlacementEndReason, RetentionOutcome, Sector
from verbinding_common.routes import RequestModel

from ..database import Base

RETENTION_MONTHS = (6, 12, 24)


class Placement(Base):
    """A job seeker at work: with whom, on what contract, how many hours, from when until when, and why it ended."""

    __tablename__ = "placement"
    __table_args__ = (
        CheckConstraint("contract_type IN ('temporary', 'fixed_term', 'permanent')", name="contract_type_known"),
        CheckConstraint("hours_per_week BETWEEN 1 AND 60", name="hours_in_range"),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="ends_after_start"),
        CheckConstraint("(ended_on IS NULL) = (end_reason IS NULL)", name="end_has_reason"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    person_id: Mapped[UUID] = mapped_column(ForeignKey("job_seeker.person_id"), index=True)
    employer_id: Mapped[UUID] = mapped_column(ForeignKey("employer.id"))
    vacancy_id: Mapped[UUID | None] = mapped_column(ForeignKey("vacancy.id"))
    contract_type: Mapped[str] = mapped_column(String(16))
    hours_per_week: Mapped[int] = mapped_column(SmallInteger)
    sector: Mapped[str] = mapped_column(String(32))
    started_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    recorded_by: Mapped[str] = mapped_column(String(128))


class RetentionCheck(Base):
    """One check of a placement, due `months` after it started; open until an outcome is recorded."""

    __tablename__ = "retention_check"
    __table_args__ = (
        UniqueConstraint("placement_id", "months", name="uq_retention_check_placement_id_months"),
        CheckConstraint("months IN (6, 12, 24)", name="months_known"),
        CheckConstraint("(outcome IS NULL) = (recorded_at IS NULL)", name="outcome_recorded_with_time"),
        # The due list: open checks by due date.
        Index("ix_retention_check_open", "due_on", postgresql_where=text("outcome IS NULL")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    placement_id: Mapped[UUID] = mapped_column(ForeignKey("placement.id"))
    person_id: Mapped[UUID] = mapped_column(ForeignKey("job_seeker.person_id"), index=True)
    months: Mapped[int] = mapped_column(SmallInteger)
    due_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(16))
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str | None] = mapped_column(String(128))
    announced_on: Mapped[date | None] = mapped_column(Date)  # RetentionCheckDue written
    escalated_on: Mapped[date | None] = mapped_column(Date)  # RetentionCheckOverdue written


# A placement's dates stay where the 6-, 12- and 24-month retention checks can be computed and stored: 9999-12-31
# is refused (422), not a 500 when the 24-month check falls past the calendar.
PlacementDate = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2099, 12, 31))]


class PlacementCreate(RequestModel):
    employer_id: UUID
    vacancy_id: UUID | None = Field(default=None, description="the vacancy filled, when it came from one")
    contract_type: ContractType
    hours_per_week: int = Field(ge=1, le=60)
    sector: Sector
    started_on: PlacementDate
    ends_on: PlacementDate | None = Field(default=None, description="planned end of a temporary or fixed-term contract")

    @model_validator(mode="after")
    def _ends_after_start(self) -> "PlacementCreate":
        if self.ends_on is not None and self.ends_on < self.started_on:
            raise ValueError("ends_on is before started_on")
        return self


class PlacementEnd(RequestModel):
    ended_on: PlacementDate
    reason: PlacementEndReason


class RetentionOutcomeCreate(RequestModel):
    outcome: RetentionOutcome


class RetentionCheckRead(BaseModel):
    retention_check_id: UUID
    placement_id: UUID
    person_id: UUID
    months: int
    due_on: date
    outcome: RetentionOutcome | None
    recorded_at: datetime | None
    overdue: bool = Field(default=False, description="open more than 30 days after its due date")
    job_hunter_id: UUID | None = Field(default=None, description="on the due list: whose list it is on")

    @classmethod
    def of(cls, check: RetentionCheck, *, overdue: bool = False,
           job_hunter_id: UUID | None = None) -> "RetentionCheckRead":
        return cls(retention_check_id=check.id, placement_id=check.placement_id, person_id=check.person_id,
                   months=check.months, due_on=check.due_on,
                   outcome=RetentionOutcome(check.outcome) if check.outcome else None,
                   recorded_at=check.recorded_at, overdue=overdue, job_hunter_id=job_hunter_id)


class PlacementRead(BaseModel):
    placement_id: UUID
    person_id: UUID
    employer_id: UUID
    vacancy_id: UUID | None
    contract_type: ContractType
    hours_per_week: int
    sector: Sector
    started_on: date
    ends_on: date | None
    ended_on: date | None
    end_reason: PlacementEndReason | None
    retention_checks: list[RetentionCheckRead]


class EmploymentSummary(BaseModel):
    """What the person overview shows of employment."""

    person_id: UUID
    job_hunter_id: UUID | None
    employed: bool
    placements: list[PlacementRead]
    next_retention_check: RetentionCheckRead | None
