"""Which working names a job hunter may read: only of the persons employment gave them (intake keeps who serves whom
from employment's events), each read and each refusal audited like a case manager's."""

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.audit import AccessAudit

from ..access import PERSON
from ..holders.models import ServingJobHunter
from ..persons.models import Person


def working_name(given_names: str) -> str | None:
    """The first given name: enough to know whom one is talking about, no more (no family name, no birth date)."""
    names = given_names.split()
    return names[0] if names else None


async def working_names(*, session: AsyncSession, audit: AccessAudit, person_ids: Iterable[UUID]) -> dict[UUID, str]:
    """The working name of each of these persons the caller serves as their job hunter (one statement). The others
    are refused, and audited as refused (someone else's) or not found (intake does not know them)."""
    wanted = list(dict.fromkeys(person_ids))
    rows = (await session.execute(
        select(Person.id, Person.given_names, ServingJobHunter.subject).select_from(Person)
        .outerjoin(ServingJobHunter, ServingJobHunter.person_id == Person.id)
        .where(Person.id.in_(wanted)))).all()
    known = {row.id for row in rows}
    served = {row.id: name for row in rows
              if row.subject == audit.caller.subject and (name := working_name(row.given_names)) is not None}
    await audit.allowed(session, kind=PERSON, record_ids=[person_id for person_id in wanted if person_id in served])
    await audit.refused_many(kind=PERSON, record_ids=[p for p in wanted if p in known and p not in served])
    await audit.refused_many(kind=PERSON, record_ids=[p for p in wanted if p not in known], outcome="not_found")
    return served
