"""Shared limits: every replica (here: separate engines) counts in the same buckets, also after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import MetaData, select, text

from verbinding_common.db import create_engine
from verbinding_common.limits import SharedLimits, SlidingWindow, rate_limit_table

metadata = MetaData()
buckets = rate_limit_table(metadata)


@pytest.fixture
async def limits_database(database_url: str) -> str:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    return database_url


@pytest.fixture
async def replicas(limits_database: str) -> AsyncIterator[list[SharedLimits]]:
    """Two replicas' limits, each on an engine of its own."""
    engines = [create_engine(limits_database, pool_size=2) for _ in range(2)]
    try:
        yield [SharedLimits(engine=engine) for engine in engines]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_the_limit_plus_first_hit_is_refused_whichever_replica_takes_it(replicas) -> None:
    window = SlidingWindow("test", limit=4, window_s=60)
    taken = [await replicas[i % 2].hit(window, "k") for i in range(6)]
    assert taken == [{"k"}] * 4 + [set()] * 2
    assert [await replica.wait_s(window, "k") for replica in replicas] in ([60, 60], [59, 59], [60, 59])
    assert await replicas[1].wait_s(window, "other") == 0


async def test_concurrent_hits_from_both_replicas_never_pass_the_limit(replicas) -> None:
    window = SlidingWindow("test", limit=10, window_s=60)
    taken = await asyncio.gather(*(replicas[i % 2].hit(window, "k") for i in range(30)))
    assert sum(len(keys) for keys in taken) == 10


async def test_a_restarted_replica_sees_the_spent_budget(limits_database: str, replicas) -> None:
    window = SlidingWindow("test", limit=2, window_s=60)
    await replicas[0].record(window, "city")
    await replicas[0].record(window, "city")
    fresh = create_engine(limits_database)
    try:
        assert await SharedLimits(engine=fresh).wait_s(window, "city") >= 59
    finally:
        await fresh.dispose()


async def test_a_window_expires_and_the_purge_removes_only_expired_buckets(replicas) -> None:
    short = SlidingWindow("short", limit=1, window_s=30)
    long = SlidingWindow("long", limit=1, window_s=600)
    assert await replicas[0].hit(short, "k") == {"k"}
    assert await replicas[1].hit(long, "k") == {"k"}
    assert await replicas[1].hit(short, "k") == set()
    # Time passes (a minute, for both buckets), without a clock to wait for: a busy machine cannot make it flaky.
    async with replicas[0].engine.begin() as conn:
        await conn.execute(text(f"UPDATE {buckets.name} SET expires_at = expires_at - interval '60 seconds', "
                                "hits = ARRAY(SELECT hit - interval '60 seconds' FROM unnest(hits) AS hit)"))
    assert await replicas[1].wait_s(short, "k") == 0
    assert await replicas[0].purge_expired(batch=1) == 1
    async with replicas[0].engine.connect() as conn:
        assert (await conn.execute(select(buckets.c.limit_name))).scalars().all() == ["long"]
    assert await replicas[1].hit(short, "k") == {"k"}


async def test_a_bucket_keeps_no_more_hits_than_its_limit(replicas) -> None:
    window = SlidingWindow("test", limit=3, window_s=60)
    for _ in range(7):
        await replicas[0].record(window, "k")
    async with replicas[0].engine.connect() as conn:
        assert len((await conn.execute(select(buckets.c.hits))).scalar_one()) == 3


async def test_several_keys_are_checked_in_one_statement_and_the_longest_wait_wins(replicas) -> None:
    short = SlidingWindow("multi", limit=1, window_s=30)
    assert await replicas[0].hit(short, "user:a", "client:b") == {"user:a", "client:b"}
    assert await replicas[1].hit(short, "user:a", "client:c") == {"client:c"}
    assert 29 <= await replicas[1].wait_s(short, "user:x", "client:c") <= 30
