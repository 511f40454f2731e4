"""Case managers joining a team and changing capacity; either may take cases off the waitlist at once."""

from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.case_plan import CaseManagerJoined
from verbinding_common.errors import Conflict, NotFound
from verbinding_common.outbox import add_event

from ..cases.service import fill_from_waitlist, lock_assignments
from .models import MAX_CAPACITY, CaseManager


async def add_case_manager(*, session: AsyncSession, subject: str, name: str, languages: list[str],
                           capacity: int = MAX_CAPACITY, team: str | None = None) -> CaseManager:
    """Register a case manager in a team and announce it; they take cases from the head of the waitlist at once."""
    await lock_assignments(session=session)
    manager_id = await session.scalar(
        pg_insert(CaseManager)
        .values(subject=subject, name=name, languages=list(dict.fromkeys(languages)), capacity=capacity, team=team)
        .on_conflict_do_nothing(index_elements=[CaseManager.subject])
        .returning(CaseManager.id)
    )
    if manager_id is None:
        raise Conflict(f"a case manager with subject {subject!r} already exists")
    await add_event(session, CaseManagerJoined(case_manager_id=manager_id, subject=subject, team=team),
                    key=str(manager_id))
    await fill_from_waitlist(session=session)
    return await session.get_one(CaseManager, manager_id, populate_existing=True)


async def set_capacity(*, session: AsyncSession, case_manager_id: UUID, capacity: int) -> CaseManager:
    """Change how many people a case manager counsels at most; never below the cases they hold now."""
    await lock_assignments(session=session)
    changed = await session.scalar(
        update(CaseManager)
        .where(CaseManager.id == case_manager_id, CaseManager.active_cases <= capacity)
        .values(capacity=capacity)
        .returning(CaseManager.id)
    )
    if changed is None:
        manager = await get_case_manager(session=session, case_manager_id=case_manager_id)
        raise Conflict(f"capacity {capacity} is below the {manager.active_cases} cases this case manager holds "
                       f"now; close cases first")
    await fill_from_waitlist(session=session)
    return await session.get_one(CaseManager, case_manager_id, populate_existing=True)


async def get_case_manager(*, session: AsyncSession, case_manager_id: UUID) -> CaseManager:
    manager = await session.get(CaseManager, case_manager_id)
    if manager is None:
        raise NotFound(f"no case manager {case_manager_id}")
    return manager


async def find_by_subject(*, session: AsyncSession, subject: str) -> CaseManager | None:
    """The case manager a gateway identity belongs to, if any."""
    return await session.scalar(select(CaseManager).where(CaseManager.subject == subject))


async def list_case_managers(*, session: AsyncSession, team: str | None) -> list[CaseManager]:
    """The case managers of one team, in the order they joined."""
    return list(await session.scalars(select(CaseManager).where(CaseManager.team == team)
                                      .order_by(CaseManager.joined_seq)))
