"""The household table and how a household is shown."""

import uuid
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import DateTime, func
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base


class Household(Base):
    __tablename__ = "household"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HouseholdMemberRead(BaseModel):
    person_id: UUID
    given_names: str
    family_name: str
    family_reunification: bool


class HouseholdRead(BaseModel):
    household_id: UUID
    members: list[HouseholdMemberRead]
