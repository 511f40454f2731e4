"""The shelter table (occupancy never above capacity, checked by the database) and the shelter schemas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, Identity, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.contracts.shelter import Programme, ShelterStatus

from ..database import Base

MAX_CAPACITY = 500
# Printable text only: no control characters (NUL included), which the database or a log line would choke on.
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120,
                                         pattern=r"^[^\x00-\x1f\x7f]+$")]


class Shelter(Base):
    """A small shelter run by an operator NGO in one programme. `occupied` moves only by conditional updates and
    the CHECK refuses it above `capacity`; `sequence` counts the changes its capacity events announce."""

    __tablename__ = "shelter"
    __table_args__ = (
        CheckConstraint(f"capacity BETWEEN 0 AND {MAX_CAPACITY}", name="capacity_in_range"),
        CheckConstraint("occupied >= 0", name="occupied_not_negative"),
        CheckConstraint("occupied <= capacity", name="occupied_within_capacity"),
        CheckConstraint("status IN ('planned', 'consulted', 'open', 'closing', 'closed')", name="status_known"),
        CheckConstraint("programme IN ('lvv', 'dublin', 'emergency')", name="programme_known"),
        CheckConstraint("status = 'planned' OR consulted_on IS NOT NULL", name="consulted_before_opening"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    name: Mapped[str] = mapped_column(String(120))
    neighbourhood: Mapped[str] = mapped_column(String(120))
    operator: Mapped[str] = mapped_column(String(128), index=True)
    programme: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int] = mapped_column(Integer)
    occupied: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'planned'"))
    consulted_on: Mapped[date | None] = mapped_column(Date)
    consultation_reference: Mapped[str | None] = mapped_column(String(120))
    sequence: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    created_seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ShelterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Label
    neighbourhood: Label
    operator: Label = Field(description="the operator NGO's organisation, as its identities carry it")
    capacity: int = Field(ge=0, le=MAX_CAPACITY)


class ShelterUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    capacity: int = Field(ge=0, le=MAX_CAPACITY)


class ConsultationRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    held_on: date
    reference: Label = Field(description="where the neighbourhood consultation's minutes are kept")


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ShelterStatus


class ShelterRead(BaseModel):
    shelter_id: UUID
    name: str
    neighbourhood: str
    operator: str
    programme: Programme
    status: ShelterStatus
    capacity: int
    occupied: int
    available: int
    consulted_on: date | None
    sequence: int

    @classmethod
    def of(cls, shelter: Shelter) -> ShelterRead:
        return cls(shelter_id=shelter.id, name=shelter.name, neighbourhood=shelter.neighbourhood,
                   operator=shelter.operator, programme=Programme(shelter.programme),
                   status=ShelterStatus(shelter.status), capacity=shelter.capacity, occupied=shelter.occupied,
                   available=available(shelter), consulted_on=shelter.consulted_on, sequence=shelter.sequence)


def available(shelter: Shelter) -> int:
    """Places a placement could take now: none unless the shelter is open."""
    return free_places(status=shelter.status, capacity=shelter.capacity, occupied=shelter.occupied)


def free_places(*, status: str, capacity: int, occupied: int) -> int:
    """Places a placement could take in a shelter with these figures: none unless it is open."""
    return capacity - occupied if status == ShelterStatus.open else 0
