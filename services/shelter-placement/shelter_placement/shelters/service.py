"""Shelters of a programme: created planned, consulted, opened, closing, closed; capacity changes."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.shelter import Programme, ShelterStatus
from verbinding_common.errors import Conflict, NotFound

from ..access import Scope
from ..placements.service import fill_from_waitlist, lock_pool
from ..placements.stays import StayRules
from .capacity import announce
from .models import Shelter

# Where a shelter may go from each state. Consultation (planned → consulted) has a route of its own, and a
# closing shelter may reopen.
NEXT_STATUS = {
    ShelterStatus.planned: {ShelterStatus.closed},
    ShelterStatus.consulted: {ShelterStatus.open, ShelterStatus.closed},
    ShelterStatus.open: {ShelterStatus.closing},
    ShelterStatus.closing: {ShelterStatus.open, ShelterStatus.closed},
    ShelterStatus.closed: set(),
}


async def create_shelter(*, session: AsyncSession, programme: Programme, name: str, neighbourhood: str,
                         operator: str, capacity: int) -> Shelter:
    """Plan a shelter: nobody is placed in it before the neighbourhood is consulted and it opens."""
    shelter = Shelter(programme=programme.value, name=name, neighbourhood=neighbourhood, operator=operator,
                      capacity=capacity, occupied=0, status=ShelterStatus.planned, sequence=1)
    session.add(shelter)
    await session.flush()
    await session.refresh(shelter)
    await announce(session=session, shelter=shelter)
    return shelter


async def record_consultation(*, session: AsyncSession, shelter_id: UUID, scope: Scope, held_on: date,
                              reference: str) -> Shelter:
    """Record the neighbourhood consultation of a planned shelter: it may open from now on."""
    shelter = await get_shelter(session=session, shelter_id=shelter_id, scope=scope, for_update=True)
    if shelter.status != ShelterStatus.planned:
        raise Conflict(f"shelter {shelter_id} is {shelter.status}: the consultation comes before opening",
                       current_status=shelter.status)
    shelter.status = ShelterStatus.consulted
    shelter.consulted_on = held_on
    shelter.consultation_reference = reference
    shelter.sequence += 1
    await session.flush()
    await announce(session=session, shelter=shelter)
    return shelter


async def change_status(*, session: AsyncSession, shelter_id: UUID, scope: Scope, status: ShelterStatus,
                        rules: StayRules) -> Shelter:
    """Move a shelter along its life cycle; opening it places residents waiting in its pool."""
    shelter = await get_shelter(session=session, shelter_id=shelter_id, scope=scope)
    await lock_pool(session=session, programme=shelter.programme, operator=shelter.operator)
    await session.refresh(shelter, with_for_update=True)
    current = ShelterStatus(shelter.status)
    if status not in NEXT_STATUS[current]:
        allowed = ", ".join(sorted(NEXT_STATUS[current])) or "nothing"
        hint = " (record the neighbourhood consultation first)" if current == ShelterStatus.planned else ""
        raise Conflict(f"shelter {shelter_id} is {current}: it may become {allowed}{hint}", current_status=current)
    if status == ShelterStatus.closed and shelter.occupied:
        raise Conflict(f"shelter {shelter_id} still has {shelter.occupied} residents: they leave before it closes",
                       current_status=current, occupied=shelter.occupied)
    shelter.status = status
    shelter.sequence += 1
    await session.flush()
    await announce(session=session, shelter=shelter)
    if status == ShelterStatus.open:
        await fill_from_waitlist(session=session, programme=shelter.programme, operator=shelter.operator, rules=rules)
    return shelter


async def set_capacity(*, session: AsyncSession, shelter_id: UUID, scope: Scope, capacity: int,
                       rules: StayRules) -> Shelter:
    """Change a shelter's capacity, never below its occupancy; new beds go to the pool's waitlist first."""
    shelter = await get_shelter(session=session, shelter_id=shelter_id, scope=scope)
    await lock_pool(session=session, programme=shelter.programme, operator=shelter.operator)
    changed = await session.scalar(
        update(Shelter).where(Shelter.id == shelter_id, Shelter.occupied <= capacity)
        .values(capacity=capacity, sequence=Shelter.sequence + 1)
        .returning(Shelter).execution_options(populate_existing=True))
    if changed is None:
        await session.refresh(shelter)
        raise Conflict(f"capacity {capacity} is below the {shelter.occupied} residents of shelter {shelter_id}",
                       occupied=shelter.occupied)
    await announce(session=session, shelter=changed)
    await fill_from_waitlist(session=session, programme=changed.programme, operator=changed.operator, rules=rules)
    await session.refresh(changed)
    return changed


async def get_shelter(*, session: AsyncSession, shelter_id: UUID, scope: Scope, for_update: bool = False) -> Shelter:
    """The shelter, if the caller's scope covers it; NotFound alike for "not yours" and "no such shelter"."""
    shelter = await session.get(Shelter, shelter_id, with_for_update=for_update, populate_existing=for_update)
    if shelter is None or not scope.covers(operator=shelter.operator, programme=shelter.programme):
        raise NotFound(f"no shelter {shelter_id}")
    return shelter


async def list_shelters(*, session: AsyncSession, scope: Scope) -> list[Shelter]:
    """The shelters the caller may see, oldest first."""
    return list(await session.scalars(select(Shelter).where(scope.where(Shelter.operator, Shelter.programme))
                                      .order_by(Shelter.created_seq)))


async def capacity_of_all(*, session: AsyncSession) -> list[Shelter]:
    """Every shelter's figures (no personal data: what the capacity events carry)."""
    return list(await session.scalars(select(Shelter).order_by(Shelter.created_seq)))
