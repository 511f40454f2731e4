"""The employment a case shows follows the placements' dates, as employment counts them: not employed before a
placement starts, still employed until an announced end comes."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from case_plan.employment.service import employment_of, placement_ended, placement_started

TODAY = date(2026, 3, 10)


async def employed(sessionmaker, person_id: uuid.UUID, today: date) -> bool:
    async with sessionmaker() as session:
        return (await employment_of(session=session, person_id=person_id, case_open=True, today=today)).employed


async def test_a_placement_starting_in_20_days_is_not_employment_now(sessionmaker) -> None:
    person_id = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        await placement_started(session=session, placement_id=uuid.uuid4(), person_id=person_id,
                                contract_type="permanent", hours_per_week=32, started_on=TODAY + timedelta(days=20))
    assert await employed(sessionmaker, person_id, TODAY) is False
    assert await employed(sessionmaker, person_id, TODAY + timedelta(days=20)) is True


async def test_an_end_announced_for_14_days_ahead_leaves_the_person_employed_until_then(sessionmaker) -> None:
    person_id, placement_id = uuid.uuid4(), uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        await placement_started(session=session, placement_id=placement_id, person_id=person_id,
                                contract_type="fixed_term", hours_per_week=24, started_on=date(2025, 9, 1))
        await placement_ended(session=session, placement_id=placement_id, ended_on=TODAY + timedelta(days=14))
    assert await employed(sessionmaker, person_id, TODAY) is True
    assert await employed(sessionmaker, person_id, TODAY + timedelta(days=13)) is True
    assert await employed(sessionmaker, person_id, TODAY + timedelta(days=14)) is False
