"""Helpers for employment's tests: the events intake and case-plan publish about a person, applied as the consumer
applies them."""

from __future__ import annotations

import uuid
from datetime import date

from employment.job_seekers.consumers import learn_job_seekers
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from verbinding_common.contracts.case_plan import CaseOpened
from verbinding_common.contracts.intake import InterviewCompleted, PersonRegistered
from verbinding_common.events import EventContract
from verbinding_testing.consuming import apply_as_consumer


def person_events(person_id: uuid.UUID, *, recognised_on: date = date(2024, 1, 15), gender: str = "female",
                  education: int = 6, occupation: str | None = "22", years: int = 5,
                  dutch: str = "B1") -> list[EventContract]:
    """What intake and case-plan publish about one person: registered, interviewed, a case opened."""
    return [
        PersonRegistered(person_id=person_id, household_id=uuid.uuid4(), recognised_on=recognised_on, gender=gender,
                         languages=["ar", "en"], family_reunification=False),
        InterviewCompleted(person_id=person_id, education_isced_level=education, occupation_isco_group=occupation,
                           years_of_work_experience=years, dutch_level=dutch, domains_of_need=["work"]),
        CaseOpened(case_id=uuid.uuid4(), person_id=person_id, recognised_on=recognised_on,
                   support_until=recognised_on.replace(year=recognised_on.year + 3)),
    ]


async def learn_events(sessionmaker: async_sessionmaker[AsyncSession], events: list[EventContract]) -> None:
    """Apply events the way the consumer's batch handler does: one fetch, one transaction."""
    async with sessionmaker() as session, session.begin():
        await apply_as_consumer(learn_job_seekers, session, *events)
