"""The action_plan (one row per version) and objective tables, and the action-plan schemas."""

from datetime import date, datetime
from typing import Literal, get_args
from uuid import UUID, uuid4

from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from verbinding_common.contracts.intake import Domain
from verbinding_common.routes import RequestModel

from ..database import Base

Term = Literal["short_term", "long_term"]
ObjectiveStatus = Literal["planned", "active", "achieved", "dropped"]


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Objective(Base):
    """One objective of one plan version. Several domains may be active at once (dual trajectories)."""

    __tablename__ = "objective"
    __table_args__ = (
        UniqueConstraint("action_plan_id", "position", name="uq_objective_action_plan_id_position"),
        CheckConstraint(_one_of("domain", tuple(Domain)), name="domain_known"),
        CheckConstraint(_one_of("term", get_args(Term)), name="term_known"),
        CheckConstraint(_one_of("status", get_args(ObjectiveStatus)), name="status_known"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    action_plan_id: Mapped[UUID] = mapped_column(ForeignKey("action_plan.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    domain: Mapped[str] = mapped_column(String(32))
    term: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    target_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))


class ActionPlan(Base):
    """One version of a case's action plan. A revision adds a version; versions are never changed but for
    their approval."""

    __tablename__ = "action_plan"
    __mapper_args__ = {"eager_defaults": True}
    __table_args__ = (
        UniqueConstraint("case_id", "version", name="uq_action_plan_case_id_version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("(approved_by IS NULL) = (approved_at IS NULL)", name="approval_complete"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    case_id: Mapped[UUID] = mapped_column(ForeignKey("case.id"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(128))
    approved_by: Mapped[str | None] = mapped_column(String(128))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    objectives: Mapped[list[Objective]] = relationship(order_by=Objective.position, lazy="selectin",
                                                       cascade="all, delete-orphan")


class ObjectiveCreate(RequestModel):
    domain: Domain
    term: Term
    description: str = Field(min_length=1, max_length=2000)
    target_date: date
    status: ObjectiveStatus = "planned"


class ObjectiveRead(ObjectiveCreate):
    pass


class ActionPlanCreate(RequestModel):
    objectives: list[ObjectiveCreate] = Field(min_length=1, max_length=100)


class ActionPlanRead(BaseModel):
    case_id: UUID
    version: int
    objectives: list[ObjectiveRead]
    created_at: datetime
    created_by: str
    approved_by: str | None
    approved_at: datetime | None

    @classmethod
    def of(cls, plan: ActionPlan) -> "ActionPlanRead":
        return cls(case_id=plan.case_id, version=plan.version, created_at=plan.created_at,
                   created_by=plan.created_by, approved_by=plan.approved_by, approved_at=plan.approved_at,
                   objectives=[ObjectiveRead.model_validate(o, from_attributes=True) for o in plan.objectives])
