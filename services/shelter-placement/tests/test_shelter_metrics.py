"""Shelter-placement's gauges: each programme's waitlist and free beds, as `/metrics` shows them, no resident in any
label."""

from __future__ import annotations

import httpx
from shelter_placement.metrics import sample
from shelter_support import Shelters

from verbinding_common.contracts.shelter import Programme
from verbinding_common.metrics import metrics_router_for_tests, setup_metrics


async def scrape() -> str:
    transport = httpx.ASGITransport(app=metrics_router_for_tests())
    async with httpx.AsyncClient(transport=transport, base_url="http://shelter") as client:
        return (await client.get("/metrics")).text


async def test_waitlist_and_free_beds_per_programme_show_after_placements(shelters: Shelters) -> None:
    setup_metrics(service_name="shelter-placement")
    await shelters.open_shelter(capacity=2, programme=Programme.dublin)
    residents = [await shelters.resident(programme=Programme.dublin) for _ in range(3)]
    for resident in residents:
        await shelters.request(resident)

    async with shelters.sessionmaker() as session:
        await sample(await session.connection())
    text = await scrape()

    assert 'verbinding_shelter_waitlist{' in text
    lines = {line.split(" ")[0]: float(line.split(" ")[-1]) for line in text.splitlines()
             if line.startswith(("verbinding_shelter_waitlist", "verbinding_shelter_free_beds"))}
    [waiting] = [value for key, value in lines.items() if "waitlist" in key and 'programme="dublin"' in key]
    [free] = [value for key, value in lines.items() if "free_beds" in key and 'programme="dublin"' in key]
    assert (waiting, free) == (1, 0)
    assert all('programme="lvv"' in key or 'programme="dublin"' in key or 'programme="emergency"' in key
               for key in lines)
    assert all(str(resident.pseudonym) not in text for resident in residents)
