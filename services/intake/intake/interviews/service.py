"""Recording the intake interview (a new recording replaces the last) and reading it."""

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from verbinding_common.contracts.intake import Domain, InterviewCompleted
from verbinding_common.outbox import add_event

from ..persons.models import Person
from .models import Consent, Interview, InterviewCreate


async def record_interview(*, session: AsyncSession, person_id: UUID, interview: InterviewCreate,
                           recorded_by: str) -> Interview | None:
    """Record (or replace) the person's intake interview and announce it; None for an unknown person."""
    # Locking the person serialises two recordings of one interview.
    if await session.scalar(select(Person.id).where(Person.id == person_id).with_for_update()) is None:
        return None
    now = datetime.now(UTC)
    domains = list(dict.fromkeys(interview.domains_of_need))
    values = {
        "education_level": str(interview.education_level),
        "profession": interview.profession,
        "years_of_work_experience": interview.years_of_work_experience,
        "dutch_level": interview.dutch_level,
        "other_languages": [item.model_dump() for item in interview.other_languages],
        "domains_of_need": [str(d) for d in domains],
        "recorded_at": now,
        "recorded_by": recorded_by,
    }
    await session.execute(pg_insert(Interview).values(person_id=person_id, **values)
                          .on_conflict_do_update(index_elements=[Interview.person_id], set_=values))
    # Consent still given keeps the moment it was first given; consent no longer listed is withdrawn.
    given_before = {organisation: given_at for organisation, given_at in await session.execute(
        select(Consent.organisation, Consent.given_at).where(Consent.person_id == person_id))}
    await session.execute(delete(Consent).where(Consent.person_id == person_id))
    partners = list(dict.fromkeys(interview.consent_partners))
    if partners:
        await session.execute(insert(Consent), [
            {"person_id": person_id, "organisation": name, "given_at": given_before.get(name, now)}
            for name in partners
        ])
    await add_event(session, InterviewCompleted(
        person_id=person_id, education_isced_level=interview.education_level,
        occupation_isco_group=_sub_major_group(interview.profession),
        years_of_work_experience=interview.years_of_work_experience, dutch_level=interview.dutch_level,
        # Health-care need and consent stay here: no consumer needs them.
        domains_of_need=[domain for domain in domains if domain is not Domain.health_care],
    ), key=str(person_id))
    return await _interview_of(session=session, person_id=person_id)


def _sub_major_group(isco_code: str | None) -> str | None:
    """The 2-digit ISCO-08 sub-major group of a code, as much of the profession as matching needs; a 1-digit code
    (the major group alone) is kept as it is, so matching still knows the major group."""
    return isco_code[:2] if isco_code else None


async def read_interview(*, session: AsyncSession, person_id: UUID) -> Interview | None:
    """The person's intake interview; None if not recorded or the person is unknown."""
    return await _interview_of(session=session, person_id=person_id)


async def _interview_of(*, session: AsyncSession, person_id: UUID) -> Interview | None:
    return await session.scalar(
        select(Interview).where(Interview.person_id == person_id)
        .options(selectinload(Interview.consents)).execution_options(populate_existing=True))
