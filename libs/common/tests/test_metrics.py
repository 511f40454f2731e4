"""Metrics: `/metrics` in Prometheus format shows each backbone metric once the action that moves it happened (a
request, a consumed fetch, a dead letter, an event waiting in the outbox, a failed publish), with route templates,
topics and groups as labels and never a value a person sent (a sentinel scan)."""

from __future__ import annotations

import re

import httpx
from aiokafka.errors import KafkaConnectionError
from example_service import ThingHappened
from fastapi import APIRouter, FastAPI
from sqlalchemy import func, text, update

from conftest import Backbone
from verbinding_common.app import create_service_app
from verbinding_common.db import outbox_table
from verbinding_common.events import build_envelope
from verbinding_common.jobs import JobContext
from verbinding_common.kafka import new_producer, start_with_retry
from verbinding_common.metrics import metrics_router_for_tests, outbox_gauges, setup_metrics
from verbinding_testing.fixtures import eventually, test_settings

SENTINEL = "V-998877-Noor-Haddad"
router = APIRouter()


@router.get("/persons/{person_id}")
async def person(person_id: str) -> dict[str, str]:
    return {"ok": "yes"}


def scrape_app() -> FastAPI:
    settings = test_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
                             bootstrap_servers="127.0.0.1:1", service_name="metrics-test")
    return create_service_app(settings=settings, title="metrics", routers=[router])


async def scrape(app: FastAPI | None = None) -> str:
    app = app or metrics_router_for_tests()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return response.text


def samples(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(rf"{name}(_bucket|_count|_sum|_total)?[{{ ]", line)]


def assert_no_sentinel(text: str) -> None:
    """Neither the sentinel nor its digits in any series' name or labels. Not in the values: a sample's value is a
    number, and one such as 0.005495782998877985 (a duration sum) holds any six digits by chance."""
    series = "\n".join(re.match(r"[^ {]+(\{[^}]*\})?", line).group(0)  # type: ignore[union-attr]
                       for line in text.splitlines() if line and not line.startswith("#"))
    assert series and SENTINEL not in series and "998877" not in series


async def test_requests_are_counted_per_route_template_method_and_status_never_per_path() -> None:
    app = scrape_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get(f"/persons/{SENTINEL}")).status_code == 200
        assert (await client.get(f"/nowhere/{SENTINEL}")).status_code == 404

    text = await scrape(app)
    # the meter is the process's: other apps built in this test process count under the same name (and, with another
    # provider set up by another test, a series may show twice), so this test looks for its own series among them
    counts = [line for line in samples(text, "http_server_request_duration_seconds")
              if "_count{" in line and 'http_route="/persons/{person_id}"' in line
              and 'http_request_method="GET"' in line and 'http_response_status_code="200"' in line]
    assert counts and all(float(count.split()[-1]) >= 1 for count in counts), counts
    assert any('http_response_status_code="404"' in line and 'http_route="(no route)"' in line
               for line in samples(text, "http_server_request_duration_seconds"))
    # this test's series, and any other test's in this process (an app whose OpenTelemetry instrumentation records the
    # same name adds error_type: a status code or an exception class, never a value sent): no label but these
    ours = [line for line in samples(text, "http_server_request_duration_seconds")
            if 'http_route="/persons/{person_id}"' in line or 'http_route="(no route)"' in line]
    labels = {label.split("=")[0] for line in ours for label in line[line.index("{") + 1:line.index("}")].split(",")}
    assert labels <= {"http_route", "http_request_method", "http_response_status_code", "error_type", "le"}, labels
    error_types = set(re.findall(r'error_type="([^"]*)"', text))
    assert all(re.fullmatch(r"[0-9]{3}|[A-Za-z_][A-Za-z0-9_.]*|", value) for value in error_types), error_types
    assert_no_sentinel(text)


async def test_a_consumed_fetch_moves_lag_and_batch_duration_and_a_dead_letter_its_topics_counter(
        backbone: Backbone) -> None:
    setup_metrics(service_name="metrics-test")
    consumer = await backbone.start_consumer(group="metrics-group")
    producer = new_producer(backbone.settings)
    await start_with_retry(producer)
    try:
        good = build_envelope(ThingHappened(key="fine", seq=1), source="example")
        await producer.send_and_wait(backbone.topic, value=good.to_bytes(), key=SENTINEL.encode())
        await producer.send_and_wait(backbone.topic, value=f'{{"{SENTINEL}": '.encode(), key=SENTINEL.encode())
    finally:
        await producer.stop()

    async def dead_lettered() -> bool:
        return consumer.stats.dead_lettered == 1

    await eventually(dead_lettered, what="one dead letter")
    await backbone.wait_for_effects(1)
    text = await scrape()
    [dead] = [line for line in samples(text, "verbinding_dead_letters") if f'topic="{backbone.topic}"' in line]
    assert 'consumer_group="metrics-group"' in dead and float(dead.split()[-1]) == 1
    assert any('consumer_group="metrics-group"' in line and f'topic="{backbone.topic}"' in line
               for line in samples(text, "verbinding_consumer_lag"))
    assert any('consumer_group="metrics-group"' in line and "_count{" in line
               for line in samples(text, "verbinding_consumer_batch_duration_seconds"))
    assert_no_sentinel(text)


def value(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples carrying `labels` (0 when none shows yet)."""
    wanted = [f'{key}="{label}"' for key, label in labels.items()]
    return sum(float(line.rsplit(" ", 1)[1]) for line in samples(text, name) if all(w in line for w in wanted))


async def test_the_outbox_gauges_show_the_backlog_and_its_oldest_rows_age_until_the_relay_publishes(
        backbone: Backbone) -> None:
    setup_metrics(service_name="metrics-test")
    job = outbox_gauges()
    context = JobContext(settings=backbone.settings, engine=backbone.engine, sessionmaker=backbone.sessionmaker,
                         state=None)
    for seq in range(3):
        await backbone.record(SENTINEL, seq)
    async with backbone.engine.begin() as conn:  # one row waits for 90 s already: the age is the oldest row's
        unpublished = (outbox_table.c.key == SENTINEL) & outbox_table.c.published_at.is_(None)
        await conn.execute(update(outbox_table).where(unpublished)
                           .values(created_at=func.now() - text("interval '90 s'")))
    await job.run(context)
    waiting = await scrape()
    assert value(waiting, "verbinding_outbox_backlog") >= 3
    assert value(waiting, "verbinding_outbox_oldest_age_seconds") >= 90

    await backbone.start_relay()
    await backbone.wait_until_published()
    await job.run(context)
    published = await scrape()
    assert (value(published, "verbinding_outbox_backlog"), value(published, "verbinding_outbox_oldest_age_seconds")) \
        == (0, 0)
    assert_no_sentinel(published)


async def test_a_failed_publish_counts_on_the_relays_failures(backbone: Backbone) -> None:
    """The relay's first publish meets a broker error (raised where the send's error is): the failure is counted per
    relay, and the retry publishes the event."""
    setup_metrics(service_name="metrics-test")
    before = value(await scrape(), "verbinding_relay_publish_failures_total", relay="metrics-relay")
    relay = await backbone.start_relay("metrics-relay")
    publish_once = relay.publish_once

    async def refused_once() -> int:
        if not relay.stats.failures:
            raise KafkaConnectionError("the broker went away")
        return await publish_once()

    relay.publish_once = refused_once  # type: ignore[method-assign]
    await backbone.record(SENTINEL, 1)
    await backbone.wait_until_published()
    scraped = await scrape()
    assert relay.stats.failures == 1
    assert value(scraped, "verbinding_relay_publish_failures_total", relay="metrics-relay") - before == 1
    assert_no_sentinel(scraped)
