"""The receipt-guess budget (per receipt prefix) is one budget for every safe-reporting replica, survives a restart,
passes with its window, stores nothing of who guessed nor any digit of a receipt, refuses look-ups when it cannot be
counted, and cannot keep a reporter locked out for more than its bound."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from safe_reporting.limits.models import rate_limit_bucket
from safe_reporting.main import create_app
from safe_reporting.reports.service import Secrets, report_by_receipt
from safe_reporting.reports.throttle import GuessThrottle
from safe_support import a_report, safe_reporting_settings
from sqlalchemy import select, text

from verbinding_common.db import create_engine
from verbinding_common.limits import SharedLimits

WRONG = "9" * 20


def _same_prefix_wrong(receipt: str) -> str:
    """A wrong receipt in the same prefix bucket as `receipt`."""
    digits = receipt.replace("-", "")
    return digits[:3] + ("0" * 17 if digits[3:] != "0" * 17 else "1" * 17)


@pytest.fixture
async def replicas(service_database: str, identity_keys) -> AsyncIterator[Callable[..., list[httpx.AsyncClient]]]:
    """`make(n, …settings)`: n safe-reporting apps on the same database, as n replicas (routes need no lifespan)."""
    apps = []

    def make(count: int, **overrides: object) -> list[httpx.AsyncClient]:
        for _ in range(count):
            apps.append(create_app(safe_reporting_settings(service_database, identity_keys[1], **overrides)))
        return [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://safe-reporting")
                for app in apps[-count:]]

    yield make
    for app in apps:
        await app.state.engine.dispose()
        await app.state.shared_limits.engine.dispose()


@pytest.fixture
def reporter(as_role):
    return as_role("reporter", "anonymous-reporter")


async def follow_up(api: httpx.AsyncClient, receipt: str, reporter) -> httpx.Response:
    return await api.post("/reports/follow-up", json={"receipt": receipt}, headers=reporter)


async def test_the_budget_plus_first_guess_is_refused_whichever_replica_answers_and_after_a_restart(
        replicas, reporter, service_database) -> None:
    first, second = replicas(2, receipt_failures_per_window=5, receipt_window_s=600)
    created = await first.post("/reports", json=a_report(), headers=reporter)
    receipt = created.json()["receipt"]
    wrong = _same_prefix_wrong(receipt)
    answers = [(await follow_up((first, second)[i % 2], wrong, reporter)).status_code for i in range(7)]
    assert answers == [404] * 5 + [429] * 2
    (restarted,) = replicas(1, receipt_failures_per_window=5, receipt_window_s=600)
    right = await follow_up(restarted, receipt, reporter)
    assert right.status_code == 429 and 500 <= int(right.headers["retry-after"]) <= 600, right.text

    engine = create_engine(service_database)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(rate_limit_bucket))).all()
    finally:
        await engine.dispose()
    assert sorted((row.limit_name, len(row.hits)) for row in rows) == [("receipt-guesses", 5),
                                                                       ("receipt-guesses-day", 5)]
    assert wrong not in repr(rows) and receipt not in repr(rows) and receipt[:3] not in {r.bucket_key for r in rows}


async def test_the_budget_refills_once_its_window_passes(replicas, reporter, sessionmaker) -> None:
    first, second = replicas(2, receipt_failures_per_window=2, receipt_window_s=60)
    assert [(await follow_up(api, WRONG, reporter)).status_code for api in (first, second, first)] == [404, 404, 429]
    # The window passes (the stored hits move back past it) without waiting on a clock a busy machine would outrun.
    async with sessionmaker() as session, session.begin():
        await session.execute(text(f"UPDATE {rate_limit_bucket.name} SET expires_at = expires_at - interval '61 s', "
                                   "hits = ARRAY(SELECT hit - interval '61 s' FROM unnest(hits) AS hit)"))
    assert (await follow_up(second, WRONG, reporter)).status_code == 404


async def test_without_its_database_the_budget_refuses_every_look_up(replicas, reporter) -> None:
    (api,) = replicas(1)
    dead = SharedLimits(engine=create_engine("postgresql://nobody@127.0.0.1:9/nowhere"), timeout_s=1.0)
    app = api._transport.app  # type: ignore[attr-defined]
    app.state.guess_throttle = GuessThrottle(limits=dead, failures_per_window=30, window_s=60)
    try:
        answer = await follow_up(api, WRONG, reporter)
    finally:
        await dead.engine.dispose()
    assert answer.status_code == 503 and "retry-after" in answer.headers


async def test_a_wrong_guess_that_cannot_be_counted_is_refused_not_answered(sessionmaker) -> None:
    class CountingFails(GuessThrottle):
        async def failed(self, bucket: str) -> None:
            raise ConnectionRefusedError("the database went away")

    engine = sessionmaker.kw["bind"]
    throttle = CountingFails(limits=SharedLimits(engine=engine), failures_per_window=30, window_s=60)
    async with sessionmaker() as session:
        with pytest.raises(ConnectionRefusedError):
            await report_by_receipt(session=session, receipt=WRONG, throttle=throttle,
                                    secrets=Secrets(keyring=None, pepper=b"p" * 32))  # type: ignore[arg-type]


async def _a_day_of_windows_passes(sessionmaker, seconds: int) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(text(f"UPDATE {rate_limit_bucket.name} SET expires_at = expires_at - "
                                   f"interval '{seconds} s', hits = ARRAY(SELECT hit - interval '{seconds} s' "
                                   "FROM unnest(hits) AS hit)"))


async def test_an_attacker_locks_out_only_the_prefix_it_guesses_in_and_only_for_the_bounded_time(
        replicas, reporter, sessionmaker, monkeypatch) -> None:
    """An attacking client guesses in the bucket of a genuine reporter's receipt as fast as it can, window after
    window (stored times moved on, no clock waited for): the reporter is locked out in at most failures_per_day /
    failures_per_window windows of the day, every 429 carries Retry-After, and a reporter of another prefix is
    never locked out. (The receipt's hash is made cheap here: what is tested is who is refused, not the hash.)"""
    from safe_reporting.reports import receipts

    monkeypatch.setattr(receipts, "SCRYPT_N", 1 << 8)
    per_window, per_day, window_s = 2, 6, 60
    (api,) = replicas(1, receipt_failures_per_window=per_window, receipt_failures_per_day=per_day,
                      receipt_window_s=window_s)
    mine = (await api.post("/reports", json=a_report(), headers=reporter)).json()["receipt"]
    other = mine
    while other[:3] == mine[:3]:
        other = (await api.post("/reports", json=a_report(), headers=reporter)).json()["receipt"]
    wrong = _same_prefix_wrong(mine)

    locked_windows = 0
    for _ in range(2 * per_day // per_window + 2):  # more windows than the day allows the attacker to hold
        for _ in range(per_window + 2):  # the attacker, faster than the window
            answer = await follow_up(api, wrong, reporter)
            assert answer.status_code in (404, 429)
            if answer.status_code == 429:
                assert int(answer.headers["Retry-After"]) >= 1
        genuine = await follow_up(api, mine, reporter)
        if genuine.status_code == 429:
            locked_windows += 1
            assert 1 <= int(genuine.headers["Retry-After"]) <= window_s
        else:
            assert genuine.status_code == 200
        assert (await follow_up(api, other, reporter)).status_code == 200  # another prefix: never locked out
        await _a_day_of_windows_passes(sessionmaker, window_s + 1)
    assert locked_windows == per_day // per_window  # the bound, reached and not passed
    assert (await follow_up(api, mine, reporter)).status_code == 200  # the attack goes on; the reporter is served
