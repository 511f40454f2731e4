"""Placement rules: never above capacity under concurrency, the waitlist's order, stays' ends and warnings."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from shelter_placement.access import Scope
from shelter_placement.main import create_app
from shelter_placement.placements.models import PlacementStatus, StayWarning
from shelter_placement.placements.service import lock_pool, waitlist
from shelter_placement.placements.stays import StayRules, add_months, stay_end, warning_due
from shelter_placement.placements.warnings import fire_warnings
from shelter_placement.residents.models import Vulnerability
from shelter_support import Shelters, shelter_settings
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from verbinding_common.contracts.shelter import (
    PlacementStarted,
    PlacementWarned,
    Programme,
    ShelterCapacityChanged,
    StayOutcome,
)
from verbinding_common.errors import Conflict
from verbinding_testing.fixtures import KafkaServer, eventually, running_app


async def test_hundred_concurrent_requests_for_ten_beds_place_ten_and_waitlist_ninety_by_priority(
        shelters: Shelters) -> None:
    shelter = await shelters.open_shelter(capacity=10)
    rng = random.Random(9)
    residents = [await shelters.resident(vulnerability=rng.choice(list(Vulnerability))) for _ in range(100)]

    placements = await asyncio.gather(*(shelters.request(resident) for resident in residents))

    placed = [p for p in placements if p.status == PlacementStatus.placed]
    waiting = [p for p in placements if p.status == PlacementStatus.waitlisted]
    assert (len(placed), len(waiting)) == (10, 90)
    assert (await shelters.shelter(shelter.id)).occupied == 10
    capacity_events = await shelters.events(event_type=ShelterCapacityChanged.event_type, key=str(shelter.id))
    assert max(event["occupied"] for event in capacity_events) == 10
    assert [event["sequence"] for event in capacity_events] == list(range(1, len(capacity_events) + 1))
    async with shelters.sessionmaker() as session:
        order = (await session.execute(text(
            "SELECT priority, request_seq FROM placement WHERE status = 'waitlisted' "
            "ORDER BY priority, request_seq"))).all()
    assert len(order) == 90 and order == sorted(order)

    head = min(waiting, key=lambda p: (p.priority, p.request_seq))
    await shelters.leave(placed[0].id, StayOutcome.legal_residence)

    assert (await shelters.placement(head.id)).status == PlacementStatus.placed
    assert (await shelters.shelter(shelter.id)).occupied == 10


async def test_database_refuses_occupancy_above_capacity_whatever_the_code_does(shelters: Shelters) -> None:
    shelter = await shelters.open_shelter(capacity=2)
    async with shelters.sessionmaker() as session, session.begin():
        with pytest.raises(IntegrityError, match="occupied_within_capacity"):
            await session.execute(text("UPDATE shelter SET occupied = 3 WHERE id = :id"), {"id": shelter.id})


async def test_more_vulnerable_request_goes_ahead_of_earlier_standard_ones(shelters: Shelters) -> None:
    shelter = await shelters.open_shelter(capacity=1)
    first = await shelters.request(await shelters.resident())
    standard = await shelters.request(await shelters.resident(vulnerability=Vulnerability.standard))
    acute = await shelters.request(await shelters.resident(vulnerability=Vulnerability.acute))

    await shelters.leave(first.id)

    assert (await shelters.placement(acute.id)).shelter_id == shelter.id
    assert (await shelters.placement(standard.id)).status == PlacementStatus.waitlisted


async def test_nobody_is_placed_in_a_shelter_that_is_not_open(shelters: Shelters) -> None:
    resident = await shelters.resident()
    async with shelters.sessionmaker() as session, session.begin():
        from shelter_placement.shelters.service import create_shelter

        await create_shelter(session=session, programme=Programme.lvv, name="Planned", neighbourhood="Noord",
                             operator=resident.operator, capacity=50)

    placement = await shelters.request(resident)

    assert placement.status == PlacementStatus.waitlisted


async def test_opening_a_shelter_places_the_waitlist_head_first(shelters: Shelters) -> None:
    waiting = [await shelters.request(await shelters.resident()) for _ in range(3)]
    await shelters.open_shelter(capacity=2)
    statuses = [(await shelters.placement(p.id)).status for p in waiting]
    assert statuses == [PlacementStatus.placed, PlacementStatus.placed, PlacementStatus.waitlisted]


@pytest.mark.parametrize(("programme", "started_on", "ends_on"), [
    (Programme.lvv, date(2025, 3, 15), date(2026, 9, 15)),
    (Programme.lvv, date(2025, 8, 31), date(2027, 2, 28)),   # no 31 February: the month's last day
    (Programme.lvv, date(2026, 8, 31), date(2028, 2, 29)),   # ... in a leap year
    (Programme.lvv, date(2025, 12, 31), date(2027, 6, 30)),
    (Programme.dublin, date(2025, 3, 15), date(2025, 9, 15)),
    (Programme.dublin, date(2025, 8, 31), date(2026, 2, 28)),
    (Programme.dublin, date(2023, 8, 31), date(2024, 2, 29)),
    (Programme.dublin, date(2025, 7, 31), date(2026, 1, 31)),
    (Programme.emergency, date(2025, 12, 20), date(2026, 1, 19)),  # 30 days by setting
])
def test_stay_ends_after_the_programmes_maximum_with_month_ends_clamped(programme: Programme, started_on: date,
                                                                        ends_on: date) -> None:
    assert stay_end(programme=programme, started_on=started_on, rules=StayRules(emergency_days=30)) == ends_on


def test_warning_comes_due_the_lead_time_before_the_end_but_not_before_the_start() -> None:
    rules = StayRules(warning_lead_days=28)
    assert warning_due(ends_on=date(2027, 2, 28), started_on=date(2025, 8, 31), rules=rules) == date(2027, 1, 31)
    assert warning_due(ends_on=date(2025, 1, 10), started_on=date(2025, 1, 1), rules=rules) == date(2025, 1, 1)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


async def test_placement_end_date_is_fixed_at_start_by_the_programme(shelters: Shelters) -> None:
    await shelters.open_shelter(capacity=5, programme=Programme.dublin)
    placement = await shelters.request(await shelters.resident(programme=Programme.dublin))
    assert placement.ends_on == add_months(placement.started_on, 6)


async def test_warning_fires_once_when_due_also_across_a_restart_and_with_two_jobs(shelters: Shelters) -> None:
    await shelters.open_shelter(capacity=5)
    placement = await shelters.request(await shelters.resident())
    due = placement.ends_on - timedelta(days=28)

    assert await fire_warnings(sessionmaker=shelters.sessionmaker, today=due - timedelta(days=1)) == 0

    fired = await asyncio.gather(*(fire_warnings(sessionmaker=shelters.sessionmaker, today=due) for _ in range(2)))
    assert sum(fired) == 1

    assert await fire_warnings(sessionmaker=shelters.sessionmaker, today=due + timedelta(3)) == 0, "after a restart"
    warned = await shelters.events(event_type=PlacementWarned.event_type)
    assert [(w["placement_id"], w["ends_on"]) for w in warned] == [(str(placement.id), placement.ends_on.isoformat())]


async def test_the_running_service_fires_a_warning_that_came_due_by_itself(
        shelters: Shelters, service_database: str, kafka_server: KafkaServer, identity_keys: tuple[str, str]) -> None:
    await shelters.open_shelter(capacity=5)
    placement = await shelters.request(await shelters.resident())
    async with shelters.sessionmaker() as session, session.begin():
        await session.execute(update(StayWarning).values(due_on=datetime.now(UTC).date()))
    app = create_app(shelter_settings(database_url=service_database, bootstrap_servers=kafka_server.bootstrap_servers,
                                      public_key=identity_keys[1], stay_warning_check_interval_s=0.1))

    async def warned() -> list[dict]:
        return await shelters.events(event_type=PlacementWarned.event_type)

    async with running_app(app):
        fired = await eventually(warned, timeout=30, what="the stay-warnings job to fire the due warning")
    assert [w["placement_id"] for w in fired] == [str(placement.id)]


async def test_leaving_records_the_outcome_and_frees_the_bed(shelters: Shelters) -> None:
    shelter = await shelters.open_shelter(capacity=1)
    placement = await shelters.request(await shelters.resident())
    ended = await shelters.leave(placement.id, StayOutcome.onward_migration)
    assert (ended.status, ended.outcome) == (PlacementStatus.ended, "onward_migration")
    last = (await shelters.events(event_type=ShelterCapacityChanged.event_type, key=str(shelter.id)))[-1]
    assert (last["occupied"], last["available"]) == (0, 1)


async def test_waitlist_order_at_one_vulnerability_level_is_the_order_of_the_displayed_request_times(
        shelters: Shelters) -> None:
    await shelters.open_shelter(capacity=2)
    residents = [await shelters.resident(vulnerability=Vulnerability.high) for _ in range(40)]

    await asyncio.gather(*(shelters.request(resident) for resident in residents))

    async with shelters.sessionmaker() as session:
        shown = await waitlist(session=session, scope=Scope(programme=Programme.lvv))
    assert len(shown) == 38
    assert [entry.waitlist_position for entry in shown] == list(range(1, 39))
    times = [entry.requested_at for entry in shown]
    assert times == sorted(times) and len(set(times)) == len(times)


async def test_concurrent_requests_for_one_resident_make_one_placement_and_a_conflict_naming_it(
        shelters: Shelters) -> None:
    await shelters.open_shelter(capacity=5)
    resident = await shelters.resident()

    answers = await asyncio.gather(*(shelters.request(resident) for _ in range(6)), return_exceptions=True)

    made = [answer for answer in answers if not isinstance(answer, BaseException)]
    refused = [answer for answer in answers if isinstance(answer, Conflict)]
    assert len(made) == 1 and len(refused) == 5
    assert {conflict.extensions["existing_id"] for conflict in refused} == {str(made[0].id)}
    assert {conflict.headers["Location"] for conflict in refused} == {f"placements/{made[0].id}"}
    assert (await shelters.shelter(made[0].shelter_id)).occupied == 1


async def test_withdrawing_a_waiting_request_moves_everyone_behind_it_up(shelters: Shelters) -> None:
    await shelters.open_shelter(capacity=1)
    placed = await shelters.request(await shelters.resident())
    first, second, third = [await shelters.request(await shelters.resident()) for _ in range(3)]

    withdrawn = await shelters.withdraw(second.id)

    assert (withdrawn.status, withdrawn.shelter_id) == (PlacementStatus.withdrawn, None)
    assert withdrawn.withdrawn_at is not None
    async with shelters.sessionmaker() as session:
        shown = await waitlist(session=session, scope=Scope(programme=Programme.lvv))
    assert [(entry.placement_id, entry.waitlist_position) for entry in shown] == [(first.id, 1), (third.id, 2)]
    await shelters.leave(placed.id)
    await shelters.leave(first.id)
    assert (await shelters.placement(third.id)).status == PlacementStatus.placed
    assert (await shelters.placement(second.id)).status == PlacementStatus.withdrawn
    # The resident may ask again: a withdrawn request is not an active one.
    again = await shelters.request(await shelters.resident_of(second))
    assert again.status == PlacementStatus.waitlisted


async def test_a_placed_resident_cannot_withdraw_and_is_told_the_status(shelters: Shelters) -> None:
    await shelters.open_shelter(capacity=1)
    placed = await shelters.request(await shelters.resident())

    with pytest.raises(Conflict, match="is placed") as refused:
        await shelters.withdraw(placed.id)

    assert refused.value.extensions == {"current_status": "placed"}
    ended = await shelters.leave(placed.id)
    with pytest.raises(Conflict, match="is ended"):
        await shelters.withdraw(ended.id)


async def test_placement_events_are_valid_by_their_contracts(shelters: Shelters) -> None:
    shelter = await shelters.open_shelter(capacity=1)
    placement = await shelters.request(await shelters.resident())

    started = await shelters.events(event_type=PlacementStarted.event_type)
    capacity = await shelters.events(event_type=ShelterCapacityChanged.event_type, key=str(shelter.id))
    assert [PlacementStarted.model_validate({k: v for k, v in e.items() if k != "type"}).placement_id
            for e in started] == [placement.id]
    last = ShelterCapacityChanged.model_validate({k: v for k, v in capacity[-1].items() if k != "type"})
    assert (last.occupied, last.available, last.sequence) == (1, 0, 4)


async def test_a_new_request_waits_for_the_pool_lock_that_leaving_and_capacity_changes_take(
        shelters: Shelters) -> None:
    await shelters.open_shelter(capacity=1)
    resident = await shelters.resident()
    async with shelters.sessionmaker() as session, session.begin():
        await lock_pool(session=session, programme=resident.programme, operator=resident.operator)
        request = asyncio.create_task(shelters.request(resident))
        await asyncio.sleep(0.5)
        assert not request.done()
    assert (await request).status == PlacementStatus.placed
