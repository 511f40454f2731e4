"""employment.placements.v1 through the real broker: a placement never closes a case; the case shows the person
employed, with coaching going on, and no longer employed once the placement ends."""

from __future__ import annotations

import uuid
from datetime import date

from case_plan.main import create_app
from sqlalchemy import func, select

from verbinding_common.contracts.employment import PlacementEnded, PlacementStarted
from verbinding_common.db import processed_event_table
from verbinding_common.events import Envelope, build_envelope
from verbinding_common.kafka import new_producer, start_with_retry
from verbinding_testing.fixtures import eventually, running_app


async def test_placement_keeps_the_case_open_and_shows_the_person_employed_until_it_ends(
        app_settings, casework, as_role) -> None:
    await casework.add_manager("cm-anna")
    person_id, placement_id = uuid.uuid4(), uuid.uuid4()
    case = await casework.open(date(2024, 3, 1), person_id=person_id)
    assert case is not None
    started = build_envelope(PlacementStarted(placement_id=placement_id, person_id=person_id,
                                              contract_type="permanent", hours_per_week=32, sector="care",
                                              started_on=date(2025, 2, 3)), source="employment")
    ended = build_envelope(PlacementEnded(placement_id=placement_id, person_id=person_id,
                                          ended_on=date(2025, 9, 30), reason="resigned"), source="employment")

    app = create_app(app_settings)
    async with running_app(app) as client:
        producer = new_producer(app_settings)
        await start_with_retry(producer)

        async def deliver(envelope: Envelope) -> None:
            await producer.send_and_wait(PlacementStarted.topic, value=envelope.to_bytes(), key=str(person_id).encode())

            async def handled() -> bool:
                async with casework.sessionmaker() as session:
                    return await session.scalar(select(func.count()).select_from(processed_event_table).where(
                        processed_event_table.c.event_id == envelope.id)) == 1

            await eventually(handled, what=f"{envelope.type} to be handled")

        try:
            await deliver(started)
            await deliver(started)  # delivered twice: still one placement
            while_employed = (await client.get(f"/cases/{case.id}", headers=as_role("team_lead"))).json()
            await deliver(ended)
            after = (await client.get(f"/cases/{case.id}", headers=as_role("team_lead"))).json()
        finally:
            await producer.stop()

    assert while_employed["status"] == "assigned" and while_employed["closed_at"] is None
    assert while_employed["employment"] == {"employed": True, "since": "2025-02-03", "contract_type": "permanent",
                                            "coaching_continues": True}
    assert after["status"] == "assigned"
    assert after["employment"] == {"employed": False, "since": None, "contract_type": None,
                                   "coaching_continues": True}
    assert [e["type"] for e in await casework.events(case.id)] == [
        "case-plan.case-opened.v1", "case-plan.case-manager-assigned.v1"], "no case event comes of a placement"
