"""The hub's routes: an NGO partner's own endpoints only, the secret shown once and stored sealed, targets checked
at registration; and the capacity stream over a real server: snapshot, resume by Last-Event-ID, filters, heartbeats."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from capacity_hub.changes.stream import EventStream
from capacity_hub.main import create_app
from capacity_hub.webhooks.models import WebhookEndpoint
from capacity_hub.webhooks.service import open_secrets
from httpx_sse import aconnect_sse
from hub_support import FAST_DELIVERY, CapacityPublisher, Shelter
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select
from sse_starlette.sse import SendTimeoutError

from verbinding_common.auth import IDENTITY_HEADER, Identity, Role
from verbinding_common.contracts.shelter import Programme
from verbinding_common.routes import PUBLIC
from verbinding_common.sealing import Keyring, SealBroken
from verbinding_common.telemetry import private_span, setup_telemetry
from verbinding_testing.fixtures import eventually, running_app
from verbinding_testing.serving import serving

STREAM = "/stream"
WEBHOOKS = "/webhooks"


async def test_endpoints_are_their_organisations_own_and_the_secret_is_shown_once(make_settings, as_ngo) -> None:
    app = create_app(make_settings(webhook_allow_insecure_targets=True))
    async with running_app(app) as client:
        created = await client.post(WEBHOOKS, json={"url": "http://127.0.0.1:9/hook",
                                                              "programmes": ["lvv"]}, headers=as_ngo())
        assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
        endpoint_id = created.json()["endpoint_id"]
        mine = await client.get(WEBHOOKS, headers=as_ngo())
        assert [e["endpoint_id"] for e in mine.json()] == [endpoint_id]
        assert "secret" not in mine.json()[0] and created.json()["secret"] not in mine.text

        other = as_ngo("De Regenboog Groep")
        assert (await client.get(WEBHOOKS, headers=other)).json() == []
        for method, path in [("GET", ""), ("POST", "/pause"), ("POST", "/resume"), ("POST", "/rotate-secret"),
                             ("GET", "/attempts"), ("DELETE", "")]:
            foreign = await client.request(method, f"{WEBHOOKS}/{endpoint_id}{path}", headers=other)
            absent = await client.request(method, f"{WEBHOOKS}/{'0' * 8}-0000-0000-0000-{'0' * 12}{path}",
                                          headers=other)
            assert (foreign.status_code, foreign.json()) == (absent.status_code, absent.json())
            assert (foreign.status_code, foreign.json()["detail"]) == (404, "no such webhook endpoint")

        paused = await client.post(f"{WEBHOOKS}/{endpoint_id}/pause", headers=as_ngo())
        assert paused.json()["status"] == "paused"
        rotated = await client.post(f"{WEBHOOKS}/{endpoint_id}/rotate-secret", headers=as_ngo())
        assert rotated.json()["secret"] != created.json()["secret"]
        assert (await client.get(f"{WEBHOOKS}/{endpoint_id}", headers=as_ngo())).json()["rotating"] is True
        assert (await client.delete(f"{WEBHOOKS}/{endpoint_id}", headers=as_ngo())).status_code == 204
        assert (await client.get(WEBHOOKS, headers=as_ngo())).json() == []


REFUSED_OUTSIDE_DEVELOPMENT = ["http://example.org/hook", "https://127.0.0.1/hook", "https://localhost:8443/hook",
                               "https://10.0.0.8/hook", "https://[::1]/hook", "https://169.254.169.254/latest",
                               "https://user:pw@example.org/hook", "ftp://example.org/hook", "not a url"]


async def test_outside_development_only_https_to_public_addresses_is_accepted(make_settings, as_ngo) -> None:
    app = create_app(make_settings(webhook_allow_insecure_targets=None))  # environment "test": the strict rules
    async with running_app(app) as client:  # one hub for every address: its start-up is most of such a test's time
        answers = {url: await client.post(WEBHOOKS, json={"url": url}, headers=as_ngo())
                   for url in REFUSED_OUTSIDE_DEVELOPMENT}
        assert {url: answer.status_code for url, answer in answers.items()} == dict.fromkeys(answers, 422)
        assert (await client.get(WEBHOOKS, headers=as_ngo())).json() == [], "nothing refused was stored"


@pytest.fixture
async def stream_hub(make_settings, own_broker, as_ngo):
    app = create_app(make_settings(kafka_bootstrap_servers=own_broker.bootstrap_servers, **FAST_DELIVERY))
    async with serving(app, lifespan=True) as url, CapacityPublisher(own_broker.bootstrap_servers) as publisher, \
            httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield as_ngo, http, publisher


async def read_events(http: httpx.AsyncClient, as_ngo, count: int, *, opened: asyncio.Event | None = None,
                      **kwargs) -> list[tuple[str, str, dict]]:
    """(event, id, data) of the first `count` events of a fresh connection; `opened` is set at the first one."""
    events = []
    async with aconnect_sse(http, "GET", STREAM, headers={**as_ngo(), **kwargs.pop("headers", {})},
                            **kwargs) as source:
        async for sse in source.aiter_sse():
            if not sse.data:  # a heartbeat (a comment line)
                continue
            events.append((sse.event, sse.id, json.loads(sse.data)))
            if opened is not None:
                opened.set()
            if len(events) == count:
                break
    return events


async def test_stream_sends_a_snapshot_then_changes_and_resumes_from_last_event_id_without_gaps_or_repeats(
        stream_hub) -> None:
    as_ngo, http, publisher = stream_hub
    west, east = Shelter(), Shelter(programme=Programme.dublin)
    await publisher.publish(west, 2)
    await publisher.publish(east, 1)

    async def logged() -> bool:
        snapshot = await read_events(http, as_ngo, 1)
        return len(snapshot[0][2]) == 2 and {s["sequence"] for s in snapshot[0][2]} == {2, 1}
    await eventually(logged, what="both shelters in the snapshot")

    opened = asyncio.Event()
    reading = asyncio.create_task(read_events(http, as_ngo, 4, opened=opened))
    await asyncio.wait_for(opened.wait(), 20)  # the snapshot is in: what is published now comes as changes
    await publisher.publish(west, 3)
    first = await asyncio.wait_for(reading, 20)
    assert first[0][0] == "snapshot" and [e[0] for e in first[1:]] == ["capacity"] * 3
    assert [e[2]["sequence"] for e in first[1:]] == [3, 4, 5]
    last_id = first[-1][1]

    await publisher.publish(west, 2)
    await publisher.publish(east, 2)
    resumed = await read_events(http, as_ngo, 4, headers={"Last-Event-ID": last_id})
    # Each shelter's changes in their order; the two shelters' changes may interleave (one partition each).
    assert [e[0] for e in resumed] == ["capacity"] * 4
    for shelter, sequences in ((west, [6, 7]), (east, [2, 3])):
        assert [e[2]["sequence"] for e in resumed if e[2]["shelter_id"] == str(shelter.id)] == sequences, resumed
    assert [int(e[1]) for e in resumed] == sorted(int(e[1]) for e in resumed) and int(resumed[0][1]) > int(last_id)

    only_east = await read_events(http, as_ngo, 3, params={"shelter_id": str(east.id)},
                                  headers={"Last-Event-ID": "0"})
    assert [e[2]["sequence"] for e in only_east] == [1, 2, 3]


async def test_many_streams_of_a_change_make_one_span_in_its_trace_not_one_per_client(stream_hub) -> None:
    """A span per client and change was thousands a second with a thousand clients (and the CPU the COA's push
    needs): the change's trace shows it reached the streams once, and every client still gets every change."""
    as_ngo, http, publisher = stream_hub
    spans = InMemorySpanExporter()
    setup_telemetry(service_name="capacity-hub-test", span_processor=SimpleSpanProcessor(spans))
    shelter = Shelter()
    openings = [asyncio.Event() for _ in range(3)]
    readers = [asyncio.create_task(read_events(http, as_ngo, 6, opened=opened)) for opened in openings]
    await asyncio.wait_for(asyncio.gather(*(opened.wait() for opened in openings)), 20)
    await publisher.publish(shelter, 5)
    for events in await asyncio.wait_for(asyncio.gather(*readers), 30):
        assert [e[2]["sequence"] for e in events[1:]] == [1, 2, 3, 4, 5]
    written = [span for span in spans.get_finished_spans() if span.name == "sse write"]
    assert sorted(span.attributes["sse.event_id"] for span in written) == sorted({
        int(e[1]) for e in events[1:]}), written
    spans.shutdown()


async def test_stream_sends_heartbeats_and_a_stalled_client_does_not_hold_up_another(stream_hub) -> None:
    as_ngo, http, publisher = stream_hub
    shelter = Shelter()
    stalled = httpx.AsyncClient(base_url=str(http.base_url), timeout=10)
    async with stalled.stream("GET", STREAM, headers=as_ngo()):  # opened, never read
        opened = asyncio.Event()
        reading = asyncio.create_task(read_events(http, as_ngo, 201, opened=opened))
        await asyncio.wait_for(opened.wait(), 20)
        await publisher.publish(shelter, 200)
        events = await asyncio.wait_for(reading, 60)
    await stalled.aclose()
    assert [e[2]["sequence"] for e in events[1:]] == list(range(1, 201))

    async with http.stream("GET", STREAM, headers=as_ngo()) as raw:
        lines = []
        async for line in raw.aiter_lines():
            lines.append(line)
            if line.startswith(": ping"):
                break
    assert "event: snapshot" in lines[:3] and lines[-1].startswith(": ping")


async def test_the_secret_is_stored_sealed_and_opens_only_with_the_hubs_key(make_settings, as_ngo) -> None:
    app = create_app(make_settings(webhook_allow_insecure_targets=True))
    async with running_app(app) as client:
        created = (await client.post(WEBHOOKS, json={"url": "http://127.0.0.1:9/hook"}, headers=as_ngo())).json()
        async with app.state.sessionmaker() as session:
            endpoint = await session.scalar(select(WebhookEndpoint))
    secret = created["secret"]
    stored = b"".join([endpoint.wrapped_key, endpoint.secret_sealed])
    assert secret.encode() not in stored and secret.removeprefix("whsec_").encode() not in stored
    assert open_secrets(app.state.webhook_keyring, endpoint).current == secret
    with pytest.raises(SealBroken):
        open_secrets(Keyring(keys={endpoint.kek_id: b"\x07" * 32}, current=endpoint.kek_id), endpoint)


async def test_every_route_is_published_under_the_hub_for_its_roles_only(make_settings, as_ngo) -> None:
    app = create_app(make_settings(webhook_allow_insecure_targets=True))
    operations = [(method, path, operation) for path, item in app.openapi()["paths"].items()
                  for method, operation in item.items() if path not in ("/healthz", "/readyz")]
    assert {(method, path) for method, path, _ in operations} >= {("get", "/stream"), ("post", "/webhooks"),
                                                                   ("post", "/webhooks/{endpoint_id}/replay")}
    assert all(operation.get(PUBLIC) for _, _, operation in operations)
    async with running_app(app) as client:
        assert (await client.get(WEBHOOKS)).status_code == 401
        for role in ("case_manager", "programme_coordinator", "ops"):
            assert (await client.get(WEBHOOKS, headers=as_ngo(role=role))).status_code == 403
        assert (await client.get(STREAM, headers=as_ngo(role="case_manager"))).status_code == 403


async def test_replay_and_disable_are_the_organisations_own_and_replay_stays_within_the_log(make_settings,
                                                                                          as_ngo) -> None:
    app = create_app(make_settings(webhook_allow_insecure_targets=True))
    async with running_app(app) as client:
        endpoint_id = (await client.post(WEBHOOKS, json={"url": "http://127.0.0.1:9/hook"},
                                         headers=as_ngo())).json()["endpoint_id"]
        disabled = await client.post(f"{WEBHOOKS}/{endpoint_id}/disable", headers=as_ngo())
        assert (disabled.json()["status"], disabled.json()["disabled_reason"]) == \
            ("disabled", "disabled by its organisation")
        assert (await client.post(f"{WEBHOOKS}/{endpoint_id}/replay", json={"after_position": 0},
                                  headers=as_ngo("De Regenboog Groep"))).status_code == 404
        beyond = await client.post(f"{WEBHOOKS}/{endpoint_id}/replay", json={"after_position": 5},
                                   headers=as_ngo())
        assert beyond.status_code == 422 and "beyond the end" in beyond.json()["detail"]
        unknown = await client.post(f"{WEBHOOKS}/{endpoint_id}/replay", json={"after_position": 0, "x": 1},
                                    headers=as_ngo())
        assert unknown.status_code == 422
        assert (await client.post(f"{WEBHOOKS}/{endpoint_id}/replay", json={"after_position": 0},
                                  headers=as_ngo())).status_code == 200


async def test_a_ticket_from_the_gateway_opens_the_stream_and_nothing_else(stream_hub, identity_signer, spans,
                                                                           caplog) -> None:
    """The gateway hands a stream's caller off with a ticket in the query (it never relays the events): the ticket
    opens the stream for the roles the stream allows, neither a ticket nor an identity stands in for the other, and
    the ticket (it is in a URL) shows in no span and no log line."""
    caplog.set_level(logging.DEBUG)
    as_ngo, http, _ = stream_hub
    ngo = Identity(subject="ngo-HVO-Querido", kind="client", roles=[Role.ngo_partner], organisation="HVO-Querido")
    ticket = identity_signer.ticket(ngo, audience="capacity-hub")
    events = await read_events(http, lambda: {}, 1, params={"ticket": ticket})
    assert events[0][0] == "snapshot"

    header_token = as_ngo()[IDENTITY_HEADER]
    case_manager = Identity(subject="cm-1", kind="user", roles=[Role.case_manager])
    refused = {
        "an identity as a ticket": await http.get(STREAM, params={"ticket": header_token}),
        "a ticket as an identity": await http.get(STREAM, headers={IDENTITY_HEADER: ticket}),
        "a ticket for another route": await http.get(WEBHOOKS, params={"ticket": ticket}),
        "another service's ticket": await http.get(STREAM, params={
            "ticket": identity_signer.ticket(ngo, audience="shelter-placement")}),
        "a role the stream does not allow": await http.get(STREAM, params={
            "ticket": identity_signer.ticket(case_manager, audience="capacity-hub")}),
    }
    assert {why: answer.status_code for why, answer in refused.items()} == {
        "an identity as a ticket": 401, "a ticket as an identity": 401, "a ticket for another route": 401,
        "another service's ticket": 401, "a role the stream does not allow": 403}
    # What leaves the process: spans as exported (private_span) and every log line.
    recorded = [private_span(span).to_json() for span in spans.get_finished_spans()] + \
        [record.getMessage() for record in caplog.records]
    assert recorded and not [line for line in recorded if ticket[-40:] in line or header_token[-40:] in line]


async def test_a_client_that_stopped_reading_is_let_go_at_the_next_heartbeat() -> None:
    """An event's send carries no timer of its own (the hub's CPU); a client whose socket stays full is still let
    go: the next heartbeat waits as well and times out, which ends the stream."""
    async def events():
        while True:
            yield b"data: {}\n\n"
            await asyncio.sleep(0)

    async def blocked_send(message) -> None:
        if message["type"] == "http.response.body" and message.get("more_body"):
            await asyncio.Event().wait()  # the client's socket is full and stays full

    async def receive() -> dict:
        await asyncio.Event().wait()  # it never says it left
        return {}

    response = EventStream(events(), ping=0.2, send_timeout=0.3)
    started = asyncio.get_running_loop().time()
    with pytest.raises(SendTimeoutError):
        await asyncio.wait_for(response({"type": "http", "method": "GET"}, receive, blocked_send), 10)
    assert asyncio.get_running_loop().time() - started < 5
