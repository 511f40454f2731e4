"""The placement table (waitlisted, placed, ended), the stay warnings due, and the placement schemas."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.contracts.shelter import Programme, StayOutcome

from ..database import Base


class PlacementStatus(StrEnum):
    waitlisted = "waitlisted"
    placed = "placed"
    ended = "ended"
    withdrawn = "withdrawn"  # left the waitlist before a bed came free (by the operator, or the coordinator)



class Placement(Base):
    """A resident's request for a bed and, once placed, their stay: the end date is fixed when it starts."""

    __tablename__ = "placement"
    __table_args__ = (
        CheckConstraint("status IN ('waitlisted', 'placed', 'ended', 'withdrawn')", name="status_known"),
        CheckConstraint("(status IN ('waitlisted', 'withdrawn') AND shelter_id IS NULL) OR "
                        "(status IN ('placed', 'ended') AND "
                        "shelter_id IS NOT NULL AND started_on IS NOT NULL AND ends_on IS NOT NULL)",
                        name="placed_has_shelter_and_dates"),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn_has_time"),
        CheckConstraint("ends_on IS NULL OR ends_on > started_on", name="ends_after_start"),
        CheckConstraint("outcome IS NULL OR outcome IN ('legal_residence', 'onward_migration', 'return', 'other')",
                        name="outcome_known"),
        # One waiting or running placement per resident.
        Index("uq_placement_active_resident", "resident_id", unique=True,
              postgresql_where=text("status IN ('waitlisted', 'placed')")),
        # The waitlist of a pool (programme, operator), in the order it is served.
        Index("ix_placement_waitlist", "programme", "operator", "priority", "request_seq",
              postgresql_where=text("status = 'waitlisted'")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    resident_id: Mapped[UUID] = mapped_column(ForeignKey("resident.id"))
    programme: Mapped[str] = mapped_column(String(16))
    operator: Mapped[str] = mapped_column(String(128))
    priority: Mapped[int] = mapped_column(SmallInteger)
    # Both drawn under the pool's lock (placements.service), so a pool's waitlist served by request_seq is also in
    # the order of the request times it displays.
    request_seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status: Mapped[str] = mapped_column(String(16))
    shelter_id: Mapped[UUID | None] = mapped_column(ForeignKey("shelter.id"), index=True)
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(32))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    case_manager: Mapped[str | None] = mapped_column(String(128))
    case_manager_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StayWarning(Base):
    """The warning before a stay ends: due on `due_on`, fired once (`fired_at`), whatever restarts in between."""

    __tablename__ = "stay_warning"
    __table_args__ = (Index("ix_stay_warning_due", "due_on", postgresql_where=text("fired_at IS NULL")),)

    placement_id: Mapped[UUID] = mapped_column(ForeignKey("placement.id"), primary_key=True)
    due_on: Mapped[date] = mapped_column(Date)
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PlacementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: UUID


class PlacementLeave(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: StayOutcome


class CaseManagerAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_manager: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128,
                                                   pattern=r"^[^\x00-\x1f\x7f]+$")] = Field(
        description="the programme case manager's user name")


class PlacementRead(BaseModel):
    placement_id: UUID
    resident_id: UUID
    programme: Programme
    operator: str
    status: PlacementStatus
    shelter_id: UUID | None
    requested_at: datetime
    started_on: date | None
    ends_on: date | None
    left_at: datetime | None
    outcome: StayOutcome | None
    withdrawn_at: datetime | None = None
    case_manager: str | None
    waitlist_position: int | None = Field(default=None, description="1 for the head of the pool's waitlist")

    @classmethod
    def of(cls, placement: Placement | Row, *, position: int | None = None) -> PlacementRead:
        """From the ORM object or a row with the placement table's columns."""
        return cls(placement_id=placement.id, resident_id=placement.resident_id,
                   programme=Programme(placement.programme), operator=placement.operator,
                   status=PlacementStatus(placement.status), shelter_id=placement.shelter_id,
                   requested_at=placement.requested_at, started_on=placement.started_on, ends_on=placement.ends_on,
                   left_at=placement.left_at, outcome=StayOutcome(placement.outcome) if placement.outcome else None,
                   withdrawn_at=placement.withdrawn_at, case_manager=placement.case_manager,
                   waitlist_position=position)


class AssignmentDelay(BaseModel):
    """Time from placement to an assigned programme case manager, for one shelter."""

    shelter_id: UUID
    shelter_name: str
    programme: Programme
    assigned: int
    median_hours: float | None
    p90_hours: float | None
    waiting_now: int
    longest_waiting_hours: float | None
