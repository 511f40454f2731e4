"""Beds taken and freed, and the capacity event every change of a shelter announces.

`occupied` only counts up by a conditional UPDATE (`… WHERE status = 'open' AND occupied < capacity`), and the
CHECK constraint refuses `occupied > capacity` whatever runs concurrently. The same UPDATE raises `sequence`, so
the row lock orders a shelter's capacity events as its changes commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.shelter import Programme, ShelterCapacityChanged, ShelterStatus
from verbinding_common.outbox import add_event

from .models import Shelter, free_places


async def announce(*, session: AsyncSession, shelter: Shelter) -> None:
    """Stage the shelter's capacity event (its current figures and sequence) in this transaction."""
    await add_event(session, capacity_changed(
        shelter_id=shelter.id, sequence=shelter.sequence, name=shelter.name, programme=shelter.programme,
        neighbourhood=shelter.neighbourhood, operator=shelter.operator, status=shelter.status,
        capacity=shelter.capacity, occupied=shelter.occupied), key=str(shelter.id))


def capacity_changed(*, shelter_id: UUID, sequence: int, name: str, programme: str, neighbourhood: str,
                     operator: str, status: str, capacity: int, occupied: int) -> ShelterCapacityChanged:
    """The capacity event of a shelter with these figures (after its change), stamped now."""
    return ShelterCapacityChanged(
        shelter_id=shelter_id, sequence=sequence, shelter_name=name, programme=Programme(programme),
        neighbourhood=neighbourhood, operator=operator, status=ShelterStatus(status), capacity=capacity,
        occupied=occupied, available=free_places(status=status, capacity=capacity, occupied=occupied),
        changed_at=datetime.now(UTC))


async def take_bed(*, session: AsyncSession, programme: str, operator: str) -> Shelter | None:
    """Take one bed in the operator's open shelter of the programme with the most free beds; None when all are
    full. The caller holds the pool's lock (placements.service.lock_pool)."""
    for _ in range(5):
        candidate = await session.scalar(
            select(Shelter.id)
            .where(Shelter.programme == programme, Shelter.operator == operator,
                   Shelter.status == ShelterStatus.open, Shelter.occupied < Shelter.capacity)
            .order_by((Shelter.capacity - Shelter.occupied).desc(), Shelter.created_seq)
            .limit(1))
        if candidate is None:
            return None
        shelter = await session.scalar(
            update(Shelter)
            .where(Shelter.id == candidate, Shelter.status == ShelterStatus.open, Shelter.occupied < Shelter.capacity)
            .values(occupied=Shelter.occupied + 1, sequence=Shelter.sequence + 1)
            .returning(Shelter)
            .execution_options(populate_existing=True))
        if shelter is not None:
            await announce(session=session, shelter=shelter)
            return shelter
    return None


async def free_bed(*, session: AsyncSession, shelter_id: UUID) -> Shelter:
    """Give a bed back (a resident left)."""
    shelter = await session.scalar(
        update(Shelter).where(Shelter.id == shelter_id)
        .values(occupied=Shelter.occupied - 1, sequence=Shelter.sequence + 1)
        .returning(Shelter).execution_options(populate_existing=True))
    assert shelter is not None
    await announce(session=session, shelter=shelter)
    return shelter
