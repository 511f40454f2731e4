"""Driving a real stack as the COA does (pushes retried on 503 and on a gateway that is gone) and checking, in the
services' own databases, that every acknowledged recognition became one person with one case."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from verbinding_testing.fixtures import eventually
from verbinding_testing.stack import RunningStack

PUSH = "/api/v1/coa/status-recognitions"
BASE_DAY = date(2024, 1, 1)
DLQ_TOPICS = ("coa.status-recognitions.v1.dlq", "intake.persons.v1.dlq")


def recognitions(prefix: str, count: int, *, seed: int = 1) -> list[dict[str, Any]]:
    """`count` newcomers with distinct COA numbers, recognised on random days (the waitlist order is not the
    push order)."""
    rng = random.Random(seed)
    return [{
        "coa_registration_number": f"V-{prefix}-{n:05d}",
        "recognised_on": (BASE_DAY + timedelta(days=rng.randrange(730))).isoformat(),
        "family_name": f"Family{n}", "given_names": f"Person {n}", "date_of_birth": "1990-05-17",
        "gender": rng.choice(["female", "male"]), "country_of_origin": "SY", "languages": ["ar", "en"],
        "reception_centre": "AZC Amsterdam Willinklaan", "family_reunification_with": None,
    } for n in range(count)]


async def token(gateway: str | httpx.AsyncClient, **form: str) -> dict[str, str]:
    """Bearer headers from the gateway's token endpoint, given its URL or a client of it."""
    if isinstance(gateway, str):
        async with httpx.AsyncClient(base_url=gateway, trust_env=False, timeout=30) as client:
            return await token(client, **form)
    response = await gateway.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def coa_headers(base_url: str) -> dict[str, str]:
    return await token(base_url, grant_type="client_credentials", client_id="coa", client_secret="coa-demo-secret")


@dataclass
class Pusher:
    """Pushes batches the way the COA does: a 503 is sent again after its Retry-After, and so is a batch whose
    answer never came (the gateway stopped or restarted); only a 202 counts as acknowledged."""

    base_url: str
    headers: dict[str, str]
    concurrency: int = 4
    acknowledged: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    unanswered: int = 0
    retry_after: set[str] = field(default_factory=set)

    async def push(self, items: list[dict[str, Any]], *, batch: int) -> None:
        queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
        for start in range(0, len(items), batch):
            queue.put_nowait(items[start:start + batch])
        async with httpx.AsyncClient(base_url=self.base_url, trust_env=False, timeout=30,
                                     limits=httpx.Limits(max_connections=self.concurrency)) as client:
            await asyncio.gather(*(self._worker(client, queue) for _ in range(self.concurrency)))

    async def _worker(self, client: httpx.AsyncClient, queue: asyncio.Queue[list[dict[str, Any]]]) -> None:
        while not queue.empty():
            items = queue.get_nowait()
            body = json.dumps({"recognitions": items}).encode()
            while True:
                try:
                    response = await client.post(PUSH, content=body,
                                                 headers={**self.headers, "Content-Type": "application/json"})
                except httpx.TransportError:
                    self.unanswered += 1
                    await asyncio.sleep(0.5)
                    continue
                self.statuses[response.status_code] += 1
                if response.status_code == 503:
                    self.retry_after.add(response.headers.get("retry-after", "missing"))
                    await asyncio.sleep(0.5)  # the COA would wait Retry-After; the test need not
                    continue
                assert response.status_code == 202, (response.status_code, response.text[:300])
                assert response.json()["accepted"] == len(items)
                self.acknowledged.extend(item["coa_registration_number"] for item in items)
                break

    async def until_acknowledged(self, count: int, timeout: float = 120) -> None:
        async def enough() -> bool:
            return len(self.acknowledged) >= count

        await eventually(enough, timeout=timeout, what=f"{count} acknowledged recognitions", interval=0.05)


async def connect(stack: RunningStack, database: str) -> asyncpg.Connection:
    return await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{stack.ports.postgres}/{database}")


async def cased(stack: RunningStack, numbers: list[str]) -> dict[str, int]:
    """For the given COA numbers: how many persons intake has (and distinct numbers among them), and how many cases
    case-plan opened for those persons (and for how many distinct persons)."""
    intake, case_plan = await connect(stack, "intake"), await connect(stack, "case_plan")
    try:
        persons = await intake.fetch("SELECT id, coa_registration_number FROM person "
                                     "WHERE coa_registration_number = ANY($1::text[])", numbers)
        cases = await case_plan.fetchrow(
            'SELECT count(*) AS cases, count(DISTINCT person_id) AS persons FROM "case" '
            "WHERE person_id = ANY($1::uuid[])", [row["id"] for row in persons])
    finally:
        await intake.close()
        await case_plan.close()
    return {"persons": len(persons), "numbers": len({row["coa_registration_number"] for row in persons}),
            "cases": cases["cases"], "cased_persons": cases["persons"]}


async def every_one_cased_once(stack: RunningStack, numbers: list[str], timeout: float = 180) -> dict[str, int]:
    """Wait until every acknowledged COA number has a person with a case; then assert none has two."""
    expected = len(set(numbers))

    async def done() -> dict[str, int] | None:
        found = await cased(stack, numbers)
        return found if found["cased_persons"] >= expected else None

    try:
        found = await eventually(done, timeout=timeout, what=f"{expected} acknowledged recognitions to be cased",
                                 interval=1.0)
    except AssertionError as error:
        raise AssertionError(f"{error}: {await cased(stack, numbers)}\n{stack.output[-6000:]}") from None
    assert found == {"persons": expected, "numbers": expected, "cases": expected, "cased_persons": expected}, found
    return found


async def dead_letters(stack: RunningStack) -> dict[str, int]:
    """How many records each dead-letter topic holds (a topic nobody created holds none)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=f"127.0.0.1:{stack.ports.broker}", group_id=None)
    await consumer.start()
    try:
        counts = {}
        existing = await consumer.topics()
        for topic in DLQ_TOPICS:
            partitions = (consumer.partitions_for_topic(topic) if topic in existing else None) or set()
            tps = [TopicPartition(topic, p) for p in partitions]
            if not tps:
                counts[topic] = 0
                continue
            ends = await consumer.end_offsets(tps)
            starts = await consumer.beginning_offsets(tps)
            counts[topic] = sum(ends[tp] - starts[tp] for tp in tps)
        return counts
    finally:
        await consumer.stop()
