"""Households: created for a newcomer, shown with their members."""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..persons.models import Person
from .models import Household, HouseholdMemberRead, HouseholdRead


async def create_household(*, session: AsyncSession) -> UUID:
    """A new, empty household."""
    household = Household()
    session.add(household)
    await session.flush()
    return household.id


async def create_households(*, session: AsyncSession, household_ids: Sequence[UUID]) -> None:
    """New, empty households under the given ids, in one statement."""
    if household_ids:
        await session.execute(text("INSERT INTO household (id) SELECT unnest(CAST(:ids AS uuid[]))"),
                              {"ids": list(household_ids)})


async def household_members(*, session: AsyncSession, household_id: UUID) -> list[Person]:
    """The members of a household, first registered first (none for an unknown household)."""
    return list((await session.scalars(
        select(Person).where(Person.household_id == household_id).order_by(Person.registered_at, Person.id)
    )).all())


def household_read(*, household_id: UUID, members: list[Person]) -> HouseholdRead:
    """How a household is shown: the members given, no others."""
    return HouseholdRead(household_id=household_id, members=[
        HouseholdMemberRead(person_id=m.id, given_names=m.given_names, family_name=m.family_name,
                            family_reunification=m.family_reunification)
        for m in members
    ])
