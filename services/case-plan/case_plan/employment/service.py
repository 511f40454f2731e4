"""Placements heard from employment, and the employment a case shows."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models import CaseEmployment, KnownPlacement


async def placement_started(*, session: AsyncSession, placement_id: UUID, person_id: UUID, contract_type: str,
                            hours_per_week: int, started_on: date) -> None:
    """Note a placement; the case stays as it is (a placement never closes a case)."""
    await session.execute(
        pg_insert(KnownPlacement).values(placement_id=placement_id, person_id=person_id, contract_type=contract_type,
                                         hours_per_week=hours_per_week, started_on=started_on)
        .on_conflict_do_nothing(index_elements=[KnownPlacement.placement_id]))


async def placement_ended(*, session: AsyncSession, placement_id: UUID, ended_on: date) -> None:
    """Note that a placement ended (nothing to do for one never heard of: its start would have come first)."""
    await session.execute(update(KnownPlacement).where(KnownPlacement.placement_id == placement_id)
                          .values(ended_on=ended_on))


async def employment_of(*, session: AsyncSession, person_id: UUID, case_open: bool, today: date) -> CaseEmployment:
    """Whether the person works `today`, since when, on what contract; coaching continues while the case is open.
    By the dates, as employment counts them: a placement starting later is not held yet, and one whose end is
    announced for a later day is still held until that day."""
    held = await session.scalar(
        select(KnownPlacement).where(KnownPlacement.person_id == person_id, KnownPlacement.started_on <= today,
                                     or_(KnownPlacement.ended_on.is_(None), KnownPlacement.ended_on > today))
        .order_by(KnownPlacement.started_on, KnownPlacement.placement_id).limit(1))
    return CaseEmployment(employed=held is not None, since=held.started_on if held else None,
                          contract_type=held.contract_type if held else None, coaching_continues=case_open)
