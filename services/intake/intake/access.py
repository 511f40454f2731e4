"""Who may see whom: a case manager the persons whose case they hold, a team lead the persons of their team's
cases; every read and every refused attempt audited.

A person whose case nobody holds (no case yet, waitlisted, closed from the waitlist) belongs to no team: any team
lead may see them. Intake learns who holds which case from case-plan's events (intake.holders). "Not yours" and
"does not exist" answer alike (404, one body); the audit keeps them apart.
"""

from collections.abc import Iterable
from typing import Annotated
from uuid import UUID

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.audit import AccessAudit, access_audit
from verbinding_common.auth import Identity, Role
from verbinding_common.errors import NotFound

from .audit.models import AccessAuditTable
from .holders.models import ASSIGNED, CaseHolder, KnownCaseManager
from .persons.models import Person

AuditDep = Annotated[AccessAudit, Depends(access_audit(AccessAuditTable))]

PERSON = "person"
NO_SUCH_PERSON = "no person with this id"
# Systems that may look up whether a recognition they sent was taken in (ids only), never read the record.
RECOGNITION_STATUS_READERS = frozenset({Role.coa_integration})


def may_see(identity: Identity, *, status: str | None, case_manager_id: UUID | None, holder_subject: str | None,
            holder_team: str | None) -> bool:
    """The rule, for one person: their case's holder, or a lead of the holder's team (any lead when none holds)."""
    if Role.case_manager in identity.roles and status == ASSIGNED and holder_subject == identity.subject:
        return True
    if Role.team_lead in identity.roles:
        if case_manager_id is None:
            return True
        return identity.team is not None and holder_team == identity.team
    return False


async def visible_persons(*, session: AsyncSession, identity: Identity, person_ids: Iterable[UUID]) -> set[UUID]:
    """Those of these persons (known to intake) the caller may see."""
    return {person_id for person_id, visible in (await _visibility(session=session, identity=identity,
                                                                  person_ids=person_ids)).items() if visible}


async def _visibility(*, session: AsyncSession, identity: Identity, person_ids: Iterable[UUID]) -> dict[UUID, bool]:
    """For each of these persons intake knows: may the caller see them (one statement)."""
    wanted = list(dict.fromkeys(person_ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Person.id, CaseHolder.status, CaseHolder.case_manager_id, KnownCaseManager.subject,
               KnownCaseManager.team)
        .select_from(Person)
        .outerjoin(CaseHolder, CaseHolder.person_id == Person.id)
        .outerjoin(KnownCaseManager, KnownCaseManager.id == CaseHolder.case_manager_id)
        .where(Person.id.in_(wanted)))
    return {row.id: may_see(identity, status=row.status, case_manager_id=row.case_manager_id,
                            holder_subject=row.subject, holder_team=row.team) for row in rows}


async def authorise_person(*, session: AsyncSession, audit: AccessAudit, person_id: UUID) -> None:
    """Pass if the caller may see (and, where the route allows, record for) the person; else 404, audited."""
    visible = (await _visibility(session=session, identity=audit.caller, person_ids=[person_id])).get(person_id)
    if visible is None:
        await audit.refused(kind=PERSON, record_id=person_id, outcome="not_found")
        raise NotFound(NO_SUCH_PERSON)
    if not visible:
        await audit.refused(kind=PERSON, record_id=person_id)
        raise NotFound(NO_SUCH_PERSON)
    await audit.allowed(session, kind=PERSON, record_ids=[person_id])


async def visible_and_audited(*, session: AsyncSession, audit: AccessAudit, person_ids: Iterable[UUID]) -> set[UUID]:
    """Those persons the caller may see, each audited as shown; the others audited as refused."""
    wanted = list(dict.fromkeys(person_ids))
    visible = await visible_persons(session=session, identity=audit.caller, person_ids=wanted)
    await audit.allowed(session, kind=PERSON, record_ids=[p for p in wanted if p in visible])
    for person_id in wanted:
        if person_id not in visible:
            await audit.refused(kind=PERSON, record_id=person_id)
    return visible
