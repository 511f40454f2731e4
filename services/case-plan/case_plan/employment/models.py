"""The placements case-plan has heard of (a read model of employment.placements.v1) and how a case shows them."""

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import Date, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base


class KnownPlacement(Base):
    """One placement of a person, as employment announced it: started, and ended when it did."""

    __tablename__ = "known_placement"

    placement_id: Mapped[UUID] = mapped_column(primary_key=True)
    person_id: Mapped[UUID] = mapped_column(index=True)
    contract_type: Mapped[str] = mapped_column(String(16))
    hours_per_week: Mapped[int] = mapped_column(SmallInteger)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)


class CaseEmployment(BaseModel):
    """Work found does not close the case: the case shows the person employed, with coaching going on."""

    employed: bool = Field(description="holds a placement today: started on or before it, not ended by it")
    since: date | None = Field(description="start of the earliest placement still held")
    contract_type: str | None = Field(description="of that placement: temporary, fixed_term or permanent")
    coaching_continues: bool = Field(description="true while the case is open, employed or not")
