"""The token-failure throttle and the anonymous-report limiter are shared by every gateway replica and survive a
restart; their table holds no address and no name."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from gateway.limits.models import rate_limit_bucket
from gateway.main import create_app
from gateway.reports.limiter import ROTATE_S, AnonymousLimiter
from gateway_support import TEST_USERS, USER_PASSWORD
from sqlalchemy import select, text

from verbinding_common.db import create_engine
from verbinding_common.limits import SharedLimits, bucket_secret

ADDRESS = "203.0.113.7"


@pytest.fixture
async def replicas(make_settings) -> AsyncIterator[Callable[..., list[httpx.AsyncClient]]]:
    """`make(n)`: n gateway apps on the same database, as n replicas (the token route needs no lifespan)."""
    apps = []

    def make(count: int, **overrides: object) -> list[httpx.AsyncClient]:
        for _ in range(count):
            apps.append(create_app(make_settings(environment="development", demo_users=TEST_USERS, **overrides)))
        return [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")
                for app in apps[-count:]]

    yield make
    for app in apps:
        await app.state.engine.dispose()
        await app.state.shared_limits.engine.dispose()


async def scanned(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return repr((await conn.execute(select(rate_limit_bucket))).all())
    finally:
        await engine.dispose()


async def test_the_token_failure_limit_holds_across_replicas_and_a_restart(replicas, gateway_database_url) -> None:
    first, second = replicas(2, token_failure_limit="3/minute")
    wrong = {"grant_type": "password", "username": "cm-anna", "password": "guess"}
    answers = [(await (first, second)[i % 2].post("/oauth/token", data=wrong)).status_code for i in range(4)]
    assert answers == [400, 400, 400, 429], "the fourth failure is refused whichever replica answers"
    (restarted,) = replicas(1, token_failure_limit="3/minute")
    right = await restarted.post("/oauth/token", data={**wrong, "password": USER_PASSWORD})
    assert right.status_code == 429 and 30 <= int(right.headers["retry-after"]) <= 60
    assert (await restarted.post("/oauth/token", data={"grant_type": "password", "username": "tl-carla",
                                                       "password": USER_PASSWORD})).status_code == 200
    table = await scanned(gateway_database_url)
    assert "cm-anna" not in table and "guess" not in table


async def test_the_token_failure_window_passes(replicas, gateway_database_url: str) -> None:
    first, second = replicas(2, token_failure_limit="2/minute")
    wrong = {"grant_type": "client_credentials", "client_id": "coa", "client_secret": "guess"}
    assert [(await client.post("/oauth/token", data=wrong)).status_code for client in (first, second, first)] \
        == [401, 401, 429]
    # The window passes (the stored hits move back past it) without waiting on a clock a busy machine would outrun.
    engine = create_engine(gateway_database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"UPDATE {rate_limit_bucket.name} SET expires_at = expires_at - interval '61 s', "
                                    "hits = ARRAY(SELECT hit - interval '61 s' FROM unnest(hits) AS hit)"))
    finally:
        await engine.dispose()
    assert (await second.post("/oauth/token", data=wrong)).status_code == 401


@pytest.fixture
async def limiters(gateway_database_url: str, identity_keys) -> AsyncIterator[Callable[[int], AnonymousLimiter]]:
    """`make(per_hour)`: an anonymous-report limiter on an engine of its own, as in another replica."""
    engines = []

    def make(per_hour: int) -> AnonymousLimiter:
        engines.append(create_engine(gateway_database_url, pool_size=2))
        return AnonymousLimiter(limits=SharedLimits(engine=engines[-1]), secret=bucket_secret(identity_keys[0]),
                                per_hour=per_hour)

    yield make
    for engine in engines:
        await engine.dispose()


async def test_the_report_limit_per_sender_holds_across_replicas_and_a_restart(limiters, gateway_database_url) -> None:
    one, two = limiters(3), limiters(3)
    assert [await (one, two)[i % 2].allow(ADDRESS) for i in range(4)] == [True, True, True, False]
    assert await limiters(3).allow(ADDRESS) is False, "a restarted replica still counts this hour's reports"
    assert await two.allow("198.51.100.1") is True, "another sender has a budget of their own"
    table = await scanned(gateway_database_url)
    assert ADDRESS not in table and "198.51.100" not in table


async def test_the_sender_tag_is_the_same_in_every_replica_and_changes_every_hour(limiters) -> None:
    one, two = limiters(3), limiters(3)
    now = time.time()
    assert one.tag(ADDRESS, now=now) == two.tag(ADDRESS, now=now)
    assert one.tag(ADDRESS, now=now) != one.tag(ADDRESS, now=now + ROTATE_S)
    assert ADDRESS not in one.tag(ADDRESS, now=now)


async def test_without_a_database_the_throttle_and_the_report_limiter_let_requests_through(identity_keys) -> None:
    from gateway.access.service import FailureThrottle

    engine = create_engine("postgresql://nobody@127.0.0.1:9/nowhere")
    limits = SharedLimits(engine=engine, timeout_s=1.0)
    secret = bucket_secret(identity_keys[0])
    try:
        assert await AnonymousLimiter(limits=limits, secret=secret, per_hour=1).allow(ADDRESS) is True
        throttle = FailureThrottle(limits=limits, secret=secret, limit="1/minute")
        await throttle.failed(("user", "cm-anna"))
        assert await throttle.retry_after(("user", "cm-anna")) is None
    finally:
        await engine.dispose()
