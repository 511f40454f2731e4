"""Applications: one per job seeker and vacancy, at one stage, with the furthest stage it reached; and schemas."""

from datetime import date, datetime
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, SmallInteger, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.contracts.employment import ApplicationEndReason, ApplicationStage
from verbinding_common.routes import RequestModel

from ..database import Base

# The way forward, in order; rejected and withdrawn end an application at any stage before placed.
PIPELINE: tuple[ApplicationStage, ...] = (ApplicationStage.proposed, ApplicationStage.applied,
                                          ApplicationStage.interview, ApplicationStage.offer, ApplicationStage.placed)
ENDINGS = (ApplicationStage.rejected, ApplicationStage.withdrawn)


class Application(Base):
    """A job seeker's application for a vacancy: where it stands and how far it got."""

    __tablename__ = "application"
    __table_args__ = (
        UniqueConstraint("person_id", "vacancy_id", name="uq_application_person_id_vacancy_id"),
        CheckConstraint("furthest BETWEEN 0 AND 4", name="furthest_in_pipeline"),
        CheckConstraint("(reason IS NULL) = (stage NOT IN ('rejected', 'withdrawn'))", name="ending_has_reason"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    person_id: Mapped[UUID] = mapped_column(ForeignKey("job_seeker.person_id"), index=True)
    vacancy_id: Mapped[UUID] = mapped_column(ForeignKey("vacancy.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    # index in PIPELINE of the furthest stage reached: the monitoring's conversion per stage
    furthest: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str | None] = mapped_column(String(32))
    stepped_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApplicationStepRow(Base):
    """One step of an application, with its day: the monitoring's conversion per stage as of a report date."""

    __tablename__ = "application_step"

    application_id: Mapped[UUID] = mapped_column(ForeignKey("application.id"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    stepped_on: Mapped[date] = mapped_column(Date)


class ApplicationCreate(RequestModel):
    vacancy_id: UUID


class ApplicationStep(RequestModel):
    stage: ApplicationStage = Field(description="the next stage, or rejected / withdrawn with a reason")
    reason: ApplicationEndReason | None = Field(default=None, description="required when rejected or withdrawn")

    @model_validator(mode="after")
    def _reason_with_ending(self) -> "ApplicationStep":
        if (self.reason is not None) != (self.stage in ENDINGS):
            raise ValueError("a reason is given when, and only when, the application is rejected or withdrawn")
        return self


class ApplicationRead(BaseModel):
    application_id: UUID
    person_id: UUID
    vacancy_id: UUID
    stage: ApplicationStage
    furthest: ApplicationStage = Field(description="the furthest stage of the way forward it reached")
    reason: ApplicationEndReason | None
    stepped_on: date

    @classmethod
    def of(cls, application: Application) -> "ApplicationRead":
        return cls(application_id=application.id, person_id=application.person_id,
                   vacancy_id=application.vacancy_id, stage=ApplicationStage(application.stage),
                   furthest=PIPELINE[application.furthest],
                   reason=ApplicationEndReason(application.reason) if application.reason else None,
                   stepped_on=application.stepped_on)
