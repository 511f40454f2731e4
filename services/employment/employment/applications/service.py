"""Proposing a vacancy to a job seeker and moving the application along, one step at a time, each step an event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.employment import ApplicationEndReason, ApplicationStage, ApplicationStepped
from verbinding_common.errors import Conflict, RuleViolated
from verbinding_common.outbox import add_event

from ..job_seekers.models import JobSeeker
from ..vacancies.models import Vacancy
from .models import ENDINGS, PIPELINE, Application, ApplicationStepRow


async def propose(*, session: AsyncSession, seeker: JobSeeker, vacancy_id: UUID, recorded_by: str,
                  today: date) -> Application:
    """Propose an open vacancy to the job seeker: the application starts, once per job seeker and vacancy."""
    vacancy = await session.get(Vacancy, vacancy_id)
    if vacancy is None or vacancy.closed_on is not None or vacancy.openings <= 0:
        raise RuleViolated(f"no open vacancy {vacancy_id}")
    application_id = await session.scalar(
        pg_insert(Application).values(person_id=seeker.person_id, vacancy_id=vacancy_id,
                                      stage=ApplicationStage.proposed, furthest=0, stepped_on=today,
                                      recorded_by=recorded_by)
        .on_conflict_do_nothing(index_elements=[Application.person_id, Application.vacancy_id])
        .returning(Application.id))
    if application_id is None:
        raise Conflict(f"vacancy {vacancy_id} is proposed to this job seeker already")
    application = await session.get_one(Application, application_id)
    await _announce(session, application)
    return application


async def step(*, session: AsyncSession, application: Application, stage: ApplicationStage,
               reason: ApplicationEndReason | None, recorded_by: str, today: date) -> Application:
    """Move the application to the next stage, or end it (rejected, withdrawn) with a reason; 409 otherwise."""
    current = ApplicationStage(application.stage)
    if current in ENDINGS or current is ApplicationStage.placed:
        raise Conflict(f"application {application.id} is {current} already")
    if stage not in ENDINGS:
        expected = PIPELINE[PIPELINE.index(current) + 1]
        if stage is not expected:
            raise Conflict(f"application {application.id} is at {current}: the next stage is {expected}")
        application.furthest = PIPELINE.index(stage)
    application.stage, application.reason = stage, reason
    application.stepped_on, application.recorded_by = today, recorded_by
    await session.flush()
    await _announce(session, application)
    return application


async def find_application(*, session: AsyncSession, application_id: UUID) -> Application | None:
    """An application, or None."""
    return await session.get(Application, application_id)


async def applications_of(*, session: AsyncSession, person_id: UUID) -> Sequence[Application]:
    """A job seeker's pipeline: their applications, latest step first."""
    return (await session.scalars(select(Application).where(Application.person_id == person_id)
                                  .order_by(Application.stepped_on.desc(), Application.id))).all()


async def applications_for(*, session: AsyncSession, vacancy_id: UUID, job_hunter_id: UUID | None,
                           everyone: bool) -> Sequence[Application]:
    """A vacancy's pipeline: every application (a team lead) or those of the job hunter's own job seekers,
    furthest along first."""
    query = select(Application).where(Application.vacancy_id == vacancy_id)
    if not everyone:
        if job_hunter_id is None:
            return []
        query = query.join(JobSeeker, JobSeeker.person_id == Application.person_id).where(
            JobSeeker.job_hunter_id == job_hunter_id)
    return (await session.scalars(query.order_by(Application.furthest.desc(), Application.stepped_on,
                                                 Application.id))).all()


async def _announce(session: AsyncSession, application: Application) -> None:
    session.add(ApplicationStepRow(application_id=application.id, stage=application.stage,
                                   stepped_on=application.stepped_on))
    await add_event(session, ApplicationStepped(
        application_id=application.id, person_id=application.person_id, vacancy_id=application.vacancy_id,
        stage=ApplicationStage(application.stage),
        reason=ApplicationEndReason(application.reason) if application.reason else None,
        stepped_on=application.stepped_on), key=str(application.person_id))
