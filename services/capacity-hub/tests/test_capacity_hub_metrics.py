"""The hub's gauges as its `/metrics` shows them, each moved by its action: an open server-sent-event stream, and the
webhook endpoints by status; no endpoint, URL or organisation in any label (a sentinel scan)."""

from __future__ import annotations

import asyncio

import httpx
from capacity_hub.main import create_app
from capacity_hub.metrics import sample
from httpx_sse import aconnect_sse
from hub_support import FAST_DELIVERY

from verbinding_common.metrics import setup_metrics
from verbinding_testing.fixtures import eventually, running_app
from verbinding_testing.serving import serving

SENTINEL = "sentinel-ngo-7731"


async def metric(client: httpx.AsyncClient, sample_name: str) -> float:
    """One sample's value (0 before it first moved); no sentinel anywhere in the scrape."""
    text = (await client.get("/metrics")).text
    assert SENTINEL not in text, "no endpoint, URL or organisation in any metric"
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.rsplit(" ", 1)[0] == sample_name)


async def test_an_open_stream_counts_as_an_sse_client_until_it_closes(make_settings, as_ngo) -> None:
    setup_metrics(service_name="capacity-hub")
    app = create_app(make_settings(**FAST_DELIVERY))
    async with serving(app, lifespan=True) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        await eventually(lambda: asyncio.sleep(0, app.state.capacity_feed.running), what="the capacity feed")
        before = await metric(http, "verbinding_sse_clients")
        async with aconnect_sse(http, "GET", "/stream", headers=as_ngo(SENTINEL)) as source:
            events = source.aiter_sse()  # held: a dropped iterator would close the stream
            assert (await anext(events)).event == "snapshot"
            assert await metric(http, "verbinding_sse_clients") - before == 1
            await events.aclose()

        async def closed() -> bool:
            return await metric(http, "verbinding_sse_clients") == before
        await eventually(closed, what="the closed stream no longer counted")


async def test_webhook_endpoints_are_counted_by_status(make_settings, as_ngo) -> None:
    setup_metrics(service_name="capacity-hub")
    app = create_app(make_settings(webhook_allow_insecure_targets=True))
    async with running_app(app) as client:
        async def sampled(status: str) -> float:
            async with app.state.sessionmaker() as session:
                await sample(await session.connection())
            return await metric(client, f'verbinding_webhook_endpoints{{status="{status}"}}')

        before = (await sampled("active"), await sampled("paused"))
        created = await client.post("/webhooks", json={"url": f"http://127.0.0.1:9/{SENTINEL}"},
                                    headers=as_ngo(SENTINEL))
        assert created.status_code == 201, created.text
        assert (await sampled("active"), await sampled("paused")) == (before[0] + 1, before[1])
        await client.post(f"/webhooks/{created.json()['endpoint_id']}/pause", headers=as_ngo(SENTINEL))
        assert (await sampled("active"), await sampled("paused")) == (before[0], before[1] + 1)
