"""Who may act on a case: a team lead (where the route allows one), or the case manager who holds it."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.auth import Identity, Role

from .case_managers.service import find_by_subject
from .cases.models import Case
from .cases.service import get_case
from .errors import Forbidden


async def authorise_case(*, session: AsyncSession, case_id: UUID, identity: Identity,
                         team_lead: bool = True) -> Case:
    """The case, if the caller may act on it; else Forbidden (NotFound when there is no such case)."""
    case = await get_case(session=session, case_id=case_id)
    if team_lead and Role.team_lead in identity.roles:
        return case
    if Role.case_manager in identity.roles and case.case_manager_id is not None:
        manager = await find_by_subject(session=session, subject=identity.subject)
        if manager is not None and manager.id == case.case_manager_id:
            return case
    raise Forbidden("only the case manager of this case" + (" or a team lead" if team_lead else "") + " may do this")
