"""Dead letters: poison goes to <topic>.dlq at once with headers that carry no payload value; replay applies once."""

from __future__ import annotations

import asyncio

from example_service import ThingHappened, make_handler
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conftest import Backbone
from verbinding_common.consumer import (
    BrokenEvent,
    ConsumedEvent,
    ConsumerSpec,
    ContractViolation,
    IdempotentConsumer,
    PoisonMessage,
)
from verbinding_common.db import processed_event_table
from verbinding_common.deadletter import read_dead_letters, replay_dead_letters
from verbinding_common.events import Envelope, build_envelope
from verbinding_common.kafka import new_producer, start_with_retry
from verbinding_testing.fixtures import eventually

SENTINEL = "Sentinel-Qx7-Noor-Haddad"


async def _produce(backbone: Backbone, *envelopes: Envelope | bytes) -> None:
    producer = new_producer(backbone.settings)
    await start_with_retry(producer)
    try:
        for envelope in envelopes:
            value = envelope if isinstance(envelope, bytes) else envelope.to_bytes()
            await producer.send_and_wait(backbone.topic, value=value, key=SENTINEL.encode())
    finally:
        await producer.stop()


async def _true(value: bool) -> bool:
    return value


async def test_poison_goes_to_the_dlq_at_once_with_headers_naming_the_error_and_the_event_but_no_value(
        backbone: Backbone) -> None:
    consumer = await backbone.start_consumer()
    breaks_contract = Envelope.model_validate({
        "id": "poison-contract", "source": "example", "type": ThingHappened.event_type, "time": "2024-01-01T00:00:00Z",
        "data": {"key": SENTINEL, "seq": f"{SENTINEL}-not-a-number"}})
    # Too long for the effect's key column: the database refuses it, and its error text carries the parameters.
    too_long = build_envelope(ThingHappened(key=f"{SENTINEL}-{'x' * 64}", seq=2), source="example")
    good = build_envelope(ThingHappened(key="fine", seq=3), source="example")
    await _produce(backbone, breaks_contract, f'{{"{SENTINEL}": '.encode(), too_long, good)

    await eventually(lambda: _true(consumer.stats.dead_lettered == 3), what="three dead letters")
    await backbone.wait_for_effects(1)
    assert consumer.stats.retries == 0, "an error the same message raises again is not retried"

    letters = await read_dead_letters(backbone.settings.kafka_bootstrap_servers, backbone.topic)
    assert len(letters) == 3
    for letter in letters:
        for name, value in letter.headers:
            assert SENTINEL.encode() not in value, f"header {name} carries a payload value"
        assert (letter.header("dlq.topic"), letter.header("dlq.consumer_group")) == (backbone.topic, "example")
        assert letter.header("dlq.partition") is not None and letter.header("dlq.offset") is not None
        assert SENTINEL.encode() in letter.value, "the record itself is kept unchanged, for replay"
    by_id = {letter.event_id: letter for letter in letters}
    contract = by_id["poison-contract"]
    assert contract.header("dlq.error_type") == "ContractViolation"
    assert contract.header("dlq.event_type") == ThingHappened.event_type
    assert "seq: int_parsing" in contract.header("dlq.error")
    refused = by_id[too_long.id]
    assert (refused.header("dlq.sqlstate"), refused.header("dlq.event_id")) == ("22001", too_long.id)
    assert refused.header("dlq.error").startswith("DBAPIError SQLSTATE 22001 raised at example_service.py")
    [unparsed] = [letter for letter in letters if letter.event_id is None]
    assert "json_invalid" in unparsed.header("dlq.error")


async def test_a_dead_letter_replayed_after_the_handler_is_fixed_is_applied_exactly_once(backbone: Backbone) -> None:
    broken = True
    replayed_headers: list[list[str]] = []
    apply_things = make_handler()

    async def until_fixed(session: AsyncSession, events: list[ConsumedEvent[ThingHappened]]) -> None:
        if broken:
            raise PoisonMessage("the handler refuses every thing until it is fixed")
        replayed_headers.extend([key for key, _ in event.record.headers or ()] for event in events)
        await apply_things(session, events)

    consumer = await backbone.start_consumer(handler=until_fixed)
    await backbone.start_relay()
    refused = await backbone.record("case-1", 1)
    await eventually(lambda: _true(consumer.stats.dead_lettered == 1), what="the refused event dead-lettered")
    [letter] = await read_dead_letters(backbone.settings.kafka_bootstrap_servers, backbone.topic)
    assert (letter.event_id, letter.replayed) == (refused, False)

    broken = False
    servers = backbone.settings.kafka_bootstrap_servers
    first = await replay_dead_letters(servers, backbone.topic, event_ids=[refused])
    await backbone.wait_for_effects(1)
    second = await replay_dead_letters(servers, backbone.topic, every=True)
    forced = await replay_dead_letters(servers, backbone.topic, event_ids=[refused], again=True)
    await eventually(lambda: _true(consumer.stats.duplicates >= 1), what="the forced replay seen as a duplicate")
    await asyncio.sleep(0.5)  # give a second application time to show up

    assert [d.event_id for d in first.replayed] == [refused]
    assert (second.replayed, [d.event_id for d in second.skipped]) == ([], [refused]), "replayed once already"
    assert [d.event_id for d in forced.replayed] == [refused]
    assert [e.event_id for e in await backbone.effects()] == [refused], "applied exactly once"
    assert replayed_headers and all(not key.startswith("dlq.") for keys in replayed_headers for key in keys)
    assert {"ce_id", "ce_type"} <= set(replayed_headers[0]), "the original headers travel back"
    [listed] = await read_dead_letters(servers, backbone.topic)
    assert listed.replayed


async def test_with_on_broken_an_event_breaking_its_contract_is_answered_not_dead_lettered(backbone: Backbone) -> None:
    answered: list[tuple[str, str]] = []

    async def answer(session: AsyncSession, events: list[BrokenEvent]) -> None:
        for event in events:
            if event.envelope.data.get("key") == "unanswerable":
                raise ContractViolation(f"{event.problems}; nothing to answer by")
            answered.append((event.id, event.problems))

    producer = new_producer(backbone.settings)
    await start_with_retry(producer)
    backbone._producers.append(producer)
    consumer = IdempotentConsumer(spec=ConsumerSpec(events=[ThingHappened], topics=[backbone.topic], group_id="example",
                                                    handler=make_handler(), on_broken=answer),
                                  sessionmaker=backbone.sessionmaker, settings=backbone.settings, producer=producer)
    await consumer.start()
    backbone.consumers.append(consumer)

    def broken(event_id: str, key: str) -> Envelope:
        return Envelope.model_validate({"id": event_id, "source": "example", "type": ThingHappened.event_type,
                                        "time": "2024-01-01T00:00:00Z", "data": {"key": key, "seq": SENTINEL}})

    good = build_envelope(ThingHappened(key="fine", seq=3), source="example")
    await _produce(backbone, broken("answered", "k"), broken("unanswerable", "unanswerable"), b"{not json", good,
                   broken("answered", "k"))

    await eventually(lambda: _true(consumer.stats.dead_lettered == 2), what="two dead letters")
    await backbone.wait_for_effects(1)
    # Handed over with the unanswerable one first (rolled back), then alone; recorded once, the resend skipped.
    assert {event_id for event_id, _ in answered} == {"answered"} and "seq: int_parsing" in answered[0][1]
    async with backbone.sessionmaker() as session:
        processed = (await session.scalars(select(processed_event_table.c.event_id).where(
            processed_event_table.c.consumer_group == "example"))).all()
    assert "answered" in processed and "unanswerable" not in processed
    assert SENTINEL not in str(answered)
    letters = await read_dead_letters(backbone.settings.kafka_bootstrap_servers, backbone.topic)
    assert sorted(str(letter.event_id) for letter in letters) == ["None", "unanswerable"]
