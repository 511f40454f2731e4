"""One trace from an HTTP request through outbox, relay, Kafka and the consumer's handler to its database write
(and, for a fetch of several events, on into the events each event stages)."""

from __future__ import annotations

import httpx
from example_service import ThingHappened, consumer_spec, effect_table, record_thing
from fastapi import APIRouter
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from conftest import Backbone, make_backbone
from verbinding_common.app import create_service_app
from verbinding_common.consumer import ConsumedEvent
from verbinding_common.db import SessionDep, outbox_table
from verbinding_common.outbox import add_events
from verbinding_common.telemetry import get_tracer, setup_telemetry
from verbinding_testing.fixtures import KafkaServer, eventually


async def test_consumer_handler_and_its_database_write_descend_from_the_request_span(
        database_url: str, kafka_server: KafkaServer) -> None:
    harness = await make_backbone(database_url, kafka_server.bootstrap_servers)
    await harness.engine.dispose()
    spans = InMemorySpanExporter()
    router = APIRouter()

    @router.post("/things/{key}", status_code=201)
    async def create_thing(key: str, session: SessionDep) -> dict[str, str]:
        envelope = await record_thing(session, key=key, seq=1, topic=harness.topic)
        return {"event_id": envelope.id}

    app = create_service_app(settings=harness.settings, title="example", routers=[router],
                             consumers=[consumer_spec(harness.topic, group="example")])
    setup_telemetry(service_name="example", span_processor=SimpleSpanProcessor(spans))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://example") as client:
            response = await client.post("/things/person-7")
        assert response.status_code == 201
        trace_id = response.headers["x-trace-id"]
        event_id = response.json()["event_id"]
        harness.engine = app.state.engine
        await harness.wait_for_effects(1)

        def finished() -> list:
            return [s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id]

        async def effect_insert_traced() -> bool:
            return any("INSERT INTO effect" in (s.attributes or {}).get("db.statement", "") for s in finished())

        await eventually(effect_insert_traced, what="the handler's INSERT span in the request's trace")

    by_id = {s.context.span_id: s for s in finished()}

    def ancestors(span) -> list[str]:
        names = []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            names.append(span.name)
        return names

    server = next(s for s in by_id.values() if s.name == "POST /things/{key}")
    insert = next(s for s in by_id.values() if "INSERT INTO effect" in (s.attributes or {}).get("db.statement", ""))
    chain = ancestors(insert)
    assert chain[0] == f"{harness.topic} process"
    assert f"{harness.topic} publish" in chain
    assert chain[-1] == server.name
    process = next(s for s in by_id.values() if s.name == f"{harness.topic} process")
    assert process.attributes["messaging.message.id"] == event_id


async def test_each_event_of_a_batch_keeps_its_own_trace_into_the_events_it_stages(backbone: Backbone) -> None:
    spans = InMemorySpanExporter()
    setup_telemetry(service_name="example", span_processor=SimpleSpanProcessor(spans), engine=backbone.engine)
    requests = {}
    for seq in range(3):
        # One key, so one partition: the consumer, started once all are published, fetches them together.
        with get_tracer(__name__).start_as_current_span(f"request {seq}", kind=SpanKind.SERVER) as request:
            requests[await backbone.record("person-7", seq)] = request
    await backbone.start_relay()
    await backbone.wait_until_published()
    await backbone.relays.pop().stop()  # the follow-ups stay in the outbox, where their traceparent shows
    follow_up_of: dict[str, str] = {}
    batches: list[int] = []

    async def stage_follow_ups(session: AsyncSession, events: list[ConsumedEvent[ThingHappened]]) -> None:
        batches.append(len(events))
        await session.execute(insert(effect_table), [
            {"event_id": event.id, "key": "person-7", "seq": event.data.seq} for event in events])
        # Caused by the typed data the handler was given: the library knows which event that is.
        staged = await add_events(session, [(ThingHappened(key="person-7", seq=100 + event.data.seq), "person-7",
                                             event.data) for event in events], source="example", topic=backbone.topic)
        follow_up_of.update({event.id: envelope.id for event, envelope in zip(events, staged, strict=True)})

    await backbone.start_consumer(handler=stage_follow_ups)
    await backbone.wait_for_effects(3)
    assert max(batches) > 1, "the events came in one fetch"
    async with backbone.engine.connect() as conn:
        staged_rows = (await conn.execute(
            select(outbox_table.c.event_id, outbox_table.c.traceparent, outbox_table.c.envelope)
            .where(outbox_table.c.event_id.in_(follow_up_of.values())))).all()
    traceparent_of = {row.event_id: row.traceparent for row in staged_rows}
    causation_of = {row.event_id: row.envelope["causationid"] for row in staged_rows}

    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}
    batch_span = next(s for s in finished if s.name == f"{backbone.topic} process batch")
    effect_insert = next(s for s in finished if "INSERT INTO effect" in (s.attributes or {}).get("db.statement", ""))
    assert effect_insert.parent.span_id == batch_span.context.span_id, "the shared statements are the batch's"
    for event_id, request in requests.items():
        process = next(s for s in finished if s.name == f"{backbone.topic} process"
                       and s.attributes["messaging.message.id"] == event_id)
        assert process.context.trace_id == request.context.trace_id
        publish = by_id[process.parent.span_id]
        assert publish.name == f"{backbone.topic} publish"
        assert publish.parent.span_id == request.context.span_id
        assert [link.context.span_id for link in process.links] == [batch_span.context.span_id]
        assert traceparent_of[follow_up_of[event_id]] == (
            f"00-{process.context.trace_id:032x}-{process.context.span_id:016x}-{process.context.trace_flags:02x}")
        assert causation_of[follow_up_of[event_id]] == event_id, "a caused event names the event that caused it"
