"""How much of a backlog a consumer applies in one transaction."""

from __future__ import annotations

from example_service import ThingHappened, effect_table
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from conftest import Backbone
from verbinding_common.consumer import ConsumedEvent
from verbinding_common.outbox import add_events


async def test_a_backlog_is_applied_up_to_five_hundred_events_a_transaction(backbone: Backbone) -> None:
    # Every fetch waits on round trips that do not grow with it (its statements, the commit, the offset commit): with
    # 200 a transaction, intake, the recognitions' slowest stage, used under half a core and waited the rest.
    assert backbone.settings.consumer_batch_size == 500
    async with backbone.sessionmaker() as session, session.begin():
        await add_events(session, [(ThingHappened(key=f"person-{seq % 7}", seq=seq), f"person-{seq % 7}")
                                   for seq in range(1200)], source="example", topic=backbone.topic)
    await backbone.start_relay()
    await backbone.wait_until_published()
    batches: list[int] = []

    async def apply(session: AsyncSession, events: list[ConsumedEvent[ThingHappened]]) -> None:
        batches.append(len(events))
        await session.execute(insert(effect_table), [
            {"event_id": event.id, "key": event.data.key, "seq": event.data.seq} for event in events])

    await backbone.start_consumer(handler=apply)
    await backbone.wait_for_effects(1200)
    assert sum(batches) == 1200
    assert 200 < max(batches) <= 500, batches
