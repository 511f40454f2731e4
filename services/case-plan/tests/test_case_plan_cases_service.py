"""The caseload rules on the real database: at most 50 per case manager, the waitlist and its order, support window."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy
from case_plan.case_managers.models import CaseManager
from case_plan.case_managers.service import set_capacity
from case_plan.cases.models import Case
from case_plan.cases.service import describe, open_cases, support_until, waitlist
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from verbinding_common.contracts.intake import PersonRegistered
from verbinding_common.db import outbox_table
from verbinding_common.errors import Conflict


async def waitlist_ids(casework) -> list[uuid.UUID]:
    async with casework.sessionmaker() as session:
        return [entry.case_id for entry in await waitlist(session=session)]


async def test_fifty_first_case_waits_when_every_manager_is_full(casework) -> None:
    anna = await casework.add_manager("cm-anna")
    cases = [await casework.open() for _ in range(50)]
    assert {c.status for c in cases} == {"assigned"}
    assert (await casework.manager(anna.id)).active_cases == 50

    fifty_first = await casework.open()
    assert fifty_first.status == "waitlisted"
    assert fifty_first.case_manager_id is None
    async with casework.sessionmaker() as session:
        assert (await describe(session=session, case=fifty_first)).waitlist_position == 1
    assert [e["type"] for e in await casework.events(fifty_first.id)] == [
        "case-plan.case-opened.v1", "case-plan.case-waitlisted.v1"]
    assert (await casework.manager(anna.id)).active_cases == 50


async def test_two_hundred_concurrent_cases_give_two_managers_exactly_fifty_each_and_the_rest_wait(
        casework) -> None:
    managers = [await casework.add_manager(), await casework.add_manager()]
    recognitions = [date(2024, 1, 1) + timedelta(days=random.randrange(365)) for _ in range(200)]
    highest_seen = 0
    running = True

    async def watch() -> None:
        """Samples the real number of assigned cases per manager while the 200 transactions run."""
        nonlocal highest_seen
        async with casework.sessionmaker() as session:
            while running:
                counts = (await session.execute(
                    text("SELECT count(*) FROM \"case\" WHERE status = 'assigned' GROUP BY case_manager_id"))).all()
                counters = (await session.execute(select(CaseManager.active_cases))).scalars().all()
                highest_seen = max([highest_seen, *(c[0] for c in counts), *counters])
                await session.rollback()
                await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    opened = await asyncio.gather(*(casework.open(recognised_on) for recognised_on in recognitions))
    running = False
    await watcher

    assert sorted(c.status for c in opened).count("assigned") == 100
    assert sorted(c.status for c in opened).count("waitlisted") == 100
    assert highest_seen <= 50
    for manager in managers:
        counter = (await casework.manager(manager.id)).active_cases
        assert counter == 50
        assert await casework.assigned_count(manager.id) == counter
    # The waiting cases are in recognition order, then arrival order.
    waiting = {c.id: c for c in opened if c.status == "waitlisted"}
    order = await waitlist_ids(casework)
    assert set(order) == set(waiting)
    keys = [(waiting[i].recognised_on, (await casework.case(i)).arrival_seq) for i in order]
    assert keys == sorted(keys)


async def test_the_database_refuses_more_active_cases_than_capacity(casework) -> None:
    manager = await casework.add_manager(capacity=2)
    async with casework.sessionmaker() as session:
        with pytest.raises(IntegrityError, match="active_cases_within_capacity"):
            async with session.begin():
                await session.execute(update(CaseManager).where(CaseManager.id == manager.id)
                                      .values(active_cases=3))


async def test_waitlist_is_ordered_by_recognition_date_then_arrival(casework) -> None:
    await casework.add_manager(capacity=1)
    await casework.open(date(2024, 1, 1))
    march = await casework.open(date(2024, 3, 1))
    january_first = await casework.open(date(2024, 1, 20))
    february = await casework.open(date(2024, 2, 1))
    january_second = await casework.open(date(2024, 1, 20))
    assert await waitlist_ids(casework) == [january_first.id, january_second.id, february.id, march.id]
    async with casework.sessionmaker() as session:
        assert (await describe(session=session, case=march)).waitlist_position == 4


async def test_closing_a_case_assigns_the_first_on_the_waitlist(casework) -> None:
    anna = await casework.add_manager(capacity=1)
    held = await casework.open(date(2024, 1, 1))
    later = await casework.open(date(2024, 5, 1))
    first = await casework.open(date(2024, 2, 1))

    closed = await casework.close(held.id, reason="moved to another municipality")
    assert closed.status == "closed" and closed.close_reason == "moved to another municipality"
    assert (await casework.case(first.id)).status == "assigned"
    assert (await casework.case(first.id)).case_manager_id == anna.id
    assert (await casework.case(later.id)).status == "waitlisted"
    assert (await casework.manager(anna.id)).active_cases == 1
    assert (await casework.events(first.id))[-1] == {
        "type": "case-plan.case-manager-assigned.v1", "case_id": str(first.id), "person_id": str(first.person_id),
        "case_manager_id": str(anna.id), "from_waitlist": True}
    assert [e["type"] for e in await casework.events(held.id)][-1] == "case-plan.case-closed.v1"
    with pytest.raises(Conflict):
        await casework.close(held.id)


async def test_raising_capacity_assigns_from_the_waitlist_head_in_order(casework) -> None:
    anna = await casework.add_manager(capacity=1)
    await casework.open(date(2024, 1, 1))
    third = await casework.open(date(2024, 4, 1))
    first = await casework.open(date(2024, 2, 1))
    second = await casework.open(date(2024, 3, 1))

    async with casework.sessionmaker() as session, session.begin():
        raised = await set_capacity(session=session, case_manager_id=anna.id, capacity=3)
    assert (raised.capacity, raised.active_cases) == (3, 3)
    assert (await casework.case(first.id)).status == "assigned"
    assert (await casework.case(second.id)).status == "assigned"
    assert await waitlist_ids(casework) == [third.id]


async def test_a_manager_joining_takes_cases_from_the_waitlist_head_in_order(casework) -> None:
    await casework.add_manager(capacity=1)
    await casework.open(date(2024, 1, 1))
    waiting = [await casework.open(date(2024, 1, 1) + timedelta(days=n)) for n in (30, 10, 20)]

    bram = await casework.add_manager("cm-bram", capacity=2)
    assert bram.active_cases == 2
    assert (await casework.case(waiting[1].id)).case_manager_id == bram.id
    assert (await casework.case(waiting[2].id)).case_manager_id == bram.id
    assert await waitlist_ids(casework) == [waiting[0].id]


async def test_lowering_capacity_below_the_cases_held_is_refused(casework) -> None:
    anna = await casework.add_manager(capacity=5)
    for _ in range(3):
        await casework.open()
    async with casework.sessionmaker() as session:
        with pytest.raises(Conflict, match="below the 3 cases"):
            async with session.begin():
                await set_capacity(session=session, case_manager_id=anna.id, capacity=2)
        async with session.begin():
            lowered = await set_capacity(session=session, case_manager_id=anna.id, capacity=3)
    assert (lowered.capacity, lowered.active_cases) == (3, 3)


async def test_a_manager_sharing_a_language_beats_one_with_more_room(casework) -> None:
    arabic = await casework.add_manager(capacity=10, languages=("nl", "ar"))
    roomy = await casework.add_manager(capacity=50, languages=("nl", "en"))
    tigrinya = await casework.add_manager(capacity=5, languages=("ti",))

    assert (await casework.open(languages=("AR", "fr"))).case_manager_id == arabic.id
    assert (await casework.open(languages=("ti",))).case_manager_id == tigrinya.id
    # No shared language: the most room wins.
    assert (await casework.open(languages=("fa",))).case_manager_id == roomy.id


async def test_among_equals_the_manager_with_most_room_then_the_oldest_is_chosen(casework) -> None:
    older = await casework.add_manager(capacity=3, languages=("ar",))
    younger = await casework.add_manager(capacity=3, languages=("ar",))
    assert (await casework.open(languages=("ar",))).case_manager_id == older.id
    assert (await casework.open(languages=("ar",))).case_manager_id == younger.id
    assert (await casework.open(languages=("ar",))).case_manager_id == older.id


async def test_a_later_recognition_never_overtakes_a_waiting_case(casework) -> None:
    anna = await casework.add_manager(capacity=1)
    await casework.open(date(2024, 1, 1))
    waiting = await casework.open(date(2024, 2, 1))
    # Room appears behind the service's back (no waitlist fill): the next opening must serve the waitlist first.
    async with casework.sessionmaker() as session, session.begin():
        await session.execute(update(CaseManager).where(CaseManager.id == anna.id).values(capacity=2))
    newcomer = await casework.open(date(2024, 6, 1))
    assert (await casework.case(waiting.id)).status == "assigned"
    assert newcomer.status == "waitlisted"


async def test_one_case_per_person_even_when_registered_twice(casework) -> None:
    await casework.add_manager()
    person_id = uuid.uuid4()
    first = await casework.open(person_id=person_id)
    assert first is not None
    assert await casework.open(person_id=person_id) is None
    async with casework.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Case).where(Case.person_id == person_id)) == 1
    assert (await casework.manager(first.case_manager_id)).active_cases == 1


async def test_support_runs_three_years_from_recognition(casework) -> None:
    case = await casework.open(date(2024, 3, 15))
    assert case.support_until == date(2027, 3, 15)
    opened = (await casework.events(case.id))[0]
    assert (opened["type"], opened["recognised_on"], opened["support_until"]) == (
        "case-plan.case-opened.v1", "2024-03-15", "2027-03-15")
    assert support_until(date(2024, 2, 29)) == date(2027, 2, 28)


def newcomer(recognised_on: date = date(2024, 1, 15), *, languages: tuple[str, ...] = (),
             person_id: uuid.UUID | None = None) -> PersonRegistered:
    return PersonRegistered(person_id=person_id or uuid.uuid4(), household_id=uuid.uuid4(),
                            recognised_on=recognised_on, gender="x", languages=list(languages),
                            family_reunification=False)


async def test_one_fetch_with_more_newcomers_than_places_assigns_in_fetch_order_and_waitlists_the_rest_by_date(
        casework) -> None:
    anna = await casework.add_manager("cm-anna", capacity=2)
    bram = await casework.add_manager("cm-bram", capacity=1)
    fetch = [newcomer(date(2024, month, day)) for month, day in ((5, 1), (1, 10), (3, 1), (2, 1), (4, 1), (2, 1),
                                                                 (1, 20))]
    applied = await casework.consume(*fetch)

    cases = [await casework.case_of(n.person_id) for n in fetch]
    # Most room first (anna), then the oldest among equals (anna), then bram.
    assert [(c.status, c.case_manager_id) for c in cases[:3]] == [
        ("assigned", anna.id), ("assigned", anna.id), ("assigned", bram.id)]
    assert {c.status for c in cases[3:]} == {"waitlisted"}
    # By recognition date; the two of 1 February in the order they came.
    assert await waitlist_ids(casework) == [cases[6].id, cases[3].id, cases[5].id, cases[4].id]
    assert [(await casework.manager(m.id)).active_cases for m in (anna, bram)] == [2, 1]
    for case, cause in zip(cases, (a.cause for a in applied), strict=True):
        async with casework.sessionmaker() as session:
            rows = (await session.execute(select(outbox_table.c.event_type, outbox_table.c.traceparent,
                                                 outbox_table.c.envelope)
                                          .where(outbox_table.c.key == str(case.id))
                                          .order_by(outbox_table.c.id))).all()
        second = "case-plan.case-manager-assigned.v1" if case.status == "assigned" else "case-plan.case-waitlisted.v1"
        assert [row.event_type for row in rows] == ["case-plan.case-opened.v1", second]
        assert {row.traceparent for row in rows} == {cause.traceparent}, "each case continues its person's trace"
        assert {row.envelope["causationid"] for row in rows} == {cause.event_id}, "and names its registration"


async def test_while_someone_waits_no_newcomer_of_a_fetch_takes_a_room(casework) -> None:
    anna = await casework.add_manager(capacity=1)
    await casework.open(date(2024, 1, 1))
    waiting = await casework.open(date(2024, 2, 1))
    # Room appears behind the service's back (no waitlist fill): it goes to the case already waiting.
    async with casework.sessionmaker() as session, session.begin():
        await session.execute(update(CaseManager).where(CaseManager.id == anna.id).values(capacity=2))
    june, july = newcomer(date(2024, 6, 1)), newcomer(date(2024, 7, 1))
    opened = await casework.open_as_one_fetch(june, july)

    assert (await casework.case(waiting.id)).status == "assigned"
    assert await waitlist_ids(casework) == opened
    assert (await casework.manager(anna.id)).active_cases == 2


async def test_a_fetch_opens_one_case_per_person_even_when_they_appear_twice_or_already_have_one(casework) -> None:
    anna = await casework.add_manager()
    known = await casework.open()
    twice = newcomer()
    opened = await casework.open_as_one_fetch(newcomer(person_id=known.person_id), twice, twice)

    assert [(await casework.case(case_id)).person_id for case_id in opened] == [twice.person_id]
    async with casework.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Case)) == 2
    assert (await casework.manager(anna.id)).active_cases == 2


async def test_concurrent_fetches_and_single_openings_give_two_managers_exactly_fifty_each(casework) -> None:
    managers = [await casework.add_manager(), await casework.add_manager()]
    fetches = [[newcomer(date(2024, 1, 1) + timedelta(days=random.randrange(365))) for _ in range(15)]
               for _ in range(8)]
    singles = [date(2024, 1, 1) + timedelta(days=random.randrange(365)) for _ in range(80)]
    await asyncio.gather(*(casework.open_as_one_fetch(*fetch) for fetch in fetches),
                         *(casework.open(recognised_on) for recognised_on in singles))

    for manager in managers:
        assert (await casework.manager(manager.id)).active_cases == 50
        assert await casework.assigned_count(manager.id) == 50
    order = await waitlist_ids(casework)
    assert len(order) == 100
    keys = [((case := await casework.case(case_id)).recognised_on, case.arrival_seq) for case_id in order]
    assert keys == sorted(keys)


async def waiting_for_a_lock(casework) -> bool:
    async with casework.sessionmaker() as session:
        return bool(await session.scalar(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")))


async def test_while_someone_waits_two_fetches_open_cases_side_by_side_and_a_close_still_waits_for_them(
        casework) -> None:
    """Two case-plan processes: newcomers who only join the waitlist do not wait for each other's transaction, while
    a decision that moves a case off the waitlist still waits for them (and then serves the waitlist head)."""
    await casework.add_manager(capacity=1)
    held = await casework.open(date(2024, 1, 1))
    head = await casework.open(date(2024, 2, 1))
    async with casework.sessionmaker() as first, first.begin():
        [march] = await open_cases(session=first, newcomers=[newcomer(date(2024, 3, 1))])
        # The first fetch's transaction is open, its lock held: the second fetch goes through all the same.
        [april] = await asyncio.wait_for(casework.open_as_one_fetch(newcomer(date(2024, 4, 1))), 10)
        closing = asyncio.create_task(casework.close(held.id))
        while not await waiting_for_a_lock(casework):
            assert not closing.done(), "the close must wait for the open fetch"
            await asyncio.sleep(0.02)
    await closing
    assert (await casework.case(head.id)).status == "assigned"
    assert await waitlist_ids(casework) == [march, april]


async def test_one_fetch_takes_rooms_as_one_by_one_openings_would_in_statements_that_do_not_grow_with_it(
        casework) -> None:
    arabic = await casework.add_manager(capacity=2, languages=("ar",))
    english = await casework.add_manager(capacity=3, languages=("en",))
    tigrinya = await casework.add_manager(capacity=1, languages=("ti",))
    fetch = [newcomer(languages=languages) for languages in (("ar",), ("TI",), ("ar", "en"), ("ar",), ("fa",), ("ti",),
                                                              ("en",), ("fa",))]
    statements = await _statements_of(casework, fetch)

    cases = [await casework.case_of(n.person_id) for n in fetch]
    # A shared language first (among several sharers, the most room); without one, or once the sharers are full,
    # the most room, then the oldest manager; once nobody has room, the rest of the fetch waits.
    assert [c.case_manager_id for c in cases] == [arabic.id, tigrinya.id, english.id, arabic.id, english.id,
                                                  english.id, None, None]
    assert [(await casework.manager(m.id)).active_cases for m in (arabic, english, tigrinya)] == [2, 3, 1]

    # A new manager serves the two waiting; then rooms for 2 newcomers or for 40 (nobody waiting) take the same
    # statements (two per newcomer before).
    await casework.add_manager(capacity=50)
    assert not await waitlist_ids(casework)
    few = await _statements_of(casework, [newcomer(date(2025, 1, 1)) for _ in range(2)])
    many = await _statements_of(casework, [newcomer(date(2025, 1, 1)) for _ in range(40)])
    assert many == few <= statements


async def _statements_of(casework, fetch: list[PersonRegistered]) -> int:
    """How many statements opening these cases as one fetch sends to the database."""
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(statement)

    async with casework.sessionmaker() as session:
        engine = session.bind.sync_engine
    sqlalchemy.event.listen(engine, "before_cursor_execute", count)
    try:
        await casework.open_as_one_fetch(*fetch)
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", count)
    return len(sent)
