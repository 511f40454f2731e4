"""The recognition status projection (one row per COA number) and how the COA and staff see it."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import CheckConstraint, DateTime, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.contracts.intake import RejectionReason

from ..database import Base

RecognitionStage = Literal["rejected", "person_registered", "waitlisted", "case_manager_assigned", "case_closed"]
# A status only moves forward: a replayed or late event of an earlier stage changes nothing. A rejection is the
# lowest, so a corrected recognition sent again still registers the person.
STAGES: dict[str, int] = {"rejected": 0, "person_registered": 1, "waitlisted": 2, "case_manager_assigned": 3,
                          "case_closed": 4}


class RecognitionProgress(Base):
    """How far the recognition of one COA number got, as the events that moved it say."""

    __tablename__ = "recognition_progress"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{name}'" for name in STAGES) + ")", name="status_known"),
    )

    coa_registration_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(24))
    stage: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str | None] = mapped_column(String(32))
    # No foreign keys: the projection only repeats what the events said.
    person_id: Mapped[UUID | None] = mapped_column(unique=True)
    case_id: Mapped[UUID | None]
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecognitionStatusRead(BaseModel):
    """What the COA may see of a recognition it sent: how far it got and under which ids, never the person's data."""

    coa_registration_number: str
    status: RecognitionStage
    reason: RejectionReason | None = Field(default=None, description="why, when the status is rejected")
    person_id: UUID | None = None
    case_id: UUID | None = None
    taken_at: datetime = Field(description="when intake first registered or rejected the recognition")
    updated_at: datetime = Field(description="when the status last moved")

    @classmethod
    def of(cls, progress: RecognitionProgress) -> "RecognitionStatusRead":
        return cls(coa_registration_number=progress.coa_registration_number, status=progress.status,
                   reason=progress.reason, person_id=progress.person_id, case_id=progress.case_id,
                   taken_at=progress.taken_at, updated_at=progress.updated_at)
