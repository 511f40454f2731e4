"""The case_manager table (with its capacity invariant) and the case-manager schemas."""

from datetime import datetime
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Integer, String, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.routes import RequestModel

from ..database import Base

# "They advise a maximum of 50 people at a time, to ensure personalised support" (the Amsterdam Approach;
# docs/domain.md).
MAX_CAPACITY = 50


class CaseManager(Base):
    """A case manager. `active_cases` counts their assigned cases; the database refuses it above `capacity`."""

    __tablename__ = "case_manager"
    __table_args__ = (
        CheckConstraint(f"capacity BETWEEN 1 AND {MAX_CAPACITY}", name="capacity_between_1_and_50"),
        CheckConstraint("active_cases >= 0", name="active_cases_not_negative"),
        # The invariant: never more people than capacity, whatever runs concurrently (docs/domain.md, Case plan).
        CheckConstraint("active_cases <= capacity", name="active_cases_within_capacity"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    subject: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The team lead who added them leads this team; team leads act on their own team's cases only.
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(35)), server_default=text("'{}'"))
    capacity: Mapped[int] = mapped_column(Integer, server_default=text(str(MAX_CAPACITY)))
    active_cases: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Join order, the last tie-break of assignment ("oldest manager first").
    joined_seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


Language = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=2, max_length=35)]
Capacity = Annotated[int, Field(ge=1, le=MAX_CAPACITY)]


class CaseManagerCreate(RequestModel):
    subject: str = Field(min_length=1, max_length=128, description="the user login the gateway puts in the identity")
    name: str = Field(min_length=1, max_length=200)
    languages: list[Language] = Field(default_factory=list, max_length=20)
    capacity: Capacity = MAX_CAPACITY


class CaseManagerUpdate(RequestModel):
    capacity: Capacity


class CaseManagerRead(BaseModel):
    case_manager_id: UUID
    subject: str
    name: str
    team: str | None
    languages: list[str]
    capacity: int
    active_cases: int

    @classmethod
    def of(cls, manager: CaseManager) -> "CaseManagerRead":
        return cls(case_manager_id=manager.id, subject=manager.subject, name=manager.name, team=manager.team,
                   languages=list(manager.languages), capacity=manager.capacity, active_cases=manager.active_cases)
