"""One trace from an HTTP request through outbox, relay, Kafka and the consumer's handler to its database write."""

from __future__ import annotations

import httpx
from example_service import make_handler, record_thing
from fastapi import APIRouter
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from conftest import make_backbone, wait_for
from verbinding_common.app import create_service_app
from verbinding_common.consumer import ConsumerSpec
from verbinding_common.db import SessionDep
from verbinding_common.telemetry import setup_telemetry
from verbinding_common.testing import KafkaServer


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
                             consumers=[ConsumerSpec(topics=[harness.topic], handler=make_handler())])
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

        await wait_for(effect_insert_traced, what="the handler's INSERT span in the request's trace")

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
