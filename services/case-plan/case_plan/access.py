"""Who may act on a case: the case manager who holds it, or a team lead of the holder's team; every attempt audited.

A case nobody holds (waitlisted, or closed from the waitlist) belongs to no team yet: any team lead may act on it.
"Not yours" and "does not exist" answer alike (404, one body); the audit keeps them apart.
"""

from typing import Annotated
from uuid import UUID

from fastapi import Depends
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.audit import AccessAudit, access_audit
from verbinding_common.auth import Identity, Role
from verbinding_common.errors import NotFound

from .audit.models import AccessAuditTable
from .case_managers.models import CaseManager
from .cases.models import Case, CaseStatus

AuditDep = Annotated[AccessAudit, Depends(access_audit(AccessAuditTable))]

NO_SUCH_CASE = "no case with this id"
NO_CASE_FOR_PERSON = "no case for this person"
# Systems that may see a case's progress by person (the COA's acknowledgement lookup), never act on it.
CASE_STATUS_READERS = frozenset({Role.coa_integration})


def holds(identity: Identity, case: Case, holder: CaseManager | None) -> bool:
    """The caller is the case manager the case is assigned to now."""
    return (Role.case_manager in identity.roles and case.status == CaseStatus.assigned and holder is not None
            and holder.subject == identity.subject)


def leads_team_of(identity: Identity, case: Case, holder: CaseManager | None) -> bool:
    """The caller is a team lead of the team holding the case (any team lead when nobody holds it)."""
    if Role.team_lead not in identity.roles:
        return False
    if case.case_manager_id is None:
        return True
    return identity.team is not None and holder is not None and holder.team == identity.team


async def authorise_case(*, session: AsyncSession, audit: AccessAudit, case_id: UUID, team_lead: bool = True,
                         kind: str = "case") -> Case:
    """The case, if the caller may act on it (its holder; or, when `team_lead`, its team's lead); else 404."""
    found = (await session.execute(_with_holder().where(Case.id == case_id))).one_or_none()
    if found is None:
        await audit.refused(kind=kind, record_id=case_id, outcome="not_found")
        raise NotFound(NO_SUCH_CASE)
    return await _allowed(session=session, audit=audit, case=found[0], holder=found[1], team_lead=team_lead,
                          kind=kind, not_found=NO_SUCH_CASE)


async def authorise_case_of_person(*, session: AsyncSession, audit: AccessAudit, person_id: UUID) -> Case:
    """The person's case, if the caller may read it (as authorise_case, or a case status reader); else 404."""
    found = (await session.execute(_with_holder().where(Case.person_id == person_id))).one_or_none()
    if found is None:
        await audit.refused(kind="person", record_id=person_id, outcome="not_found")
        raise NotFound(NO_CASE_FOR_PERSON)
    case, holder = found
    if CASE_STATUS_READERS.intersection(audit.caller.roles):
        await audit.allowed(session, kind="case", record_ids=[case.id])
        return case
    return await _allowed(session=session, audit=audit, case=case, holder=holder, team_lead=True, kind="case",
                          not_found=NO_CASE_FOR_PERSON)


def _with_holder() -> Select[tuple[Case, CaseManager]]:
    """A case with the case manager holding it (or who held it last), in one statement."""
    return select(Case, CaseManager).outerjoin(CaseManager, CaseManager.id == Case.case_manager_id)


async def _allowed(*, session: AsyncSession, audit: AccessAudit, case: Case, holder: CaseManager | None,
                   team_lead: bool, kind: str, not_found: str) -> Case:
    identity = audit.caller
    if holds(identity, case, holder) or (team_lead and leads_team_of(identity, case, holder)):
        await audit.allowed(session, kind=kind, record_ids=[case.id])
        return case
    await audit.refused(kind=kind, record_id=case.id)
    raise NotFound(not_found)
