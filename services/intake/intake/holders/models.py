"""Intake's copy of the facts its access rules need: from case-plan, the case of each person with its holder and each
case manager's login and team; from employment, the job hunter who serves each person."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base

ASSIGNED, CLOSED = "assigned", "closed"


class CaseHolder(Base):
    """A person's case as case-plan last announced it: assigned to a case manager, or closed (the last holder is
    kept: their team's lead still reaches the person)."""

    __tablename__ = "case_holder"
    __table_args__ = (CheckConstraint(f"status IN ('{ASSIGNED}', '{CLOSED}')", name="status_known"),)

    case_id: Mapped[UUID] = mapped_column(primary_key=True)
    # No foreign key: case-plan's events may arrive before intake registered the person's own record.
    person_id: Mapped[UUID] = mapped_column(unique=True)
    case_manager_id: Mapped[UUID | None]
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class KnownCaseManager(Base):
    """A case manager as case-plan announced them: the login the gateway vouches for, and their team."""

    __tablename__ = "case_manager"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(128), index=True)
    team: Mapped[str | None] = mapped_column(String(64))


class ServingJobHunter(Base):
    """The job hunter employment last gave a person to: they alone may read the person's working name."""

    __tablename__ = "serving_job_hunter"

    # No foreign key: employment's events may arrive before intake registered the person's own record.
    person_id: Mapped[UUID] = mapped_column(primary_key=True)
    job_hunter_id: Mapped[UUID]
    subject: Mapped[str] = mapped_column(String(128), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())
