"""Every stored report has its receipt delivered, or claimable again: admission before any work, retries by key."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator

from safe_reporting.reports import receipts
from safe_reporting.reports.models import Report
from safe_support import a_report
from sqlalchemy import func, select

from verbinding_common.idempotency import HEADER

REPORTERS = 200


async def _stored(sessionmaker) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Report)) or 0


async def test_a_full_gate_refuses_with_retry_after_before_storing_anything(api, as_role, sessionmaker) -> None:
    gate = api.app.state.submission_gate
    reporter = as_role("reporter", "anonymous-reporter") | {HEADER: str(uuid.uuid4())}
    with contextlib.ExitStack() as held:
        for _ in range(gate.limit):
            held.enter_context(gate.admit())
        refused = await api.post("/reports", json=a_report(), headers=reporter)
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["content-type"] == "application/problem+json"
        assert await _stored(sessionmaker) == 0
    assert gate.in_flight == 0
    taken = await api.post("/reports", json=a_report(), headers=reporter)  # the same key, sent again
    assert taken.status_code == 201 and await _stored(sessionmaker) == 1
    assert gate.in_flight == 0


async def test_two_hundred_reporters_at_once_each_get_the_receipt_of_their_one_stored_report(
        api, as_role, sessionmaker, monkeypatch) -> None:
    """Each reporter's app keeps one Idempotency-Key per report and sends again until it holds a receipt: after a
    503 (gate full), a 409 (its other attempt still running) or an answer lost on the way. The
    receipt's hash is made cheap here: what is tested is who gets which receipt, not how long a hash takes (that
    is `make bench`)."""
    monkeypatch.setattr(receipts, "SCRYPT_N", 1 << 8)
    gate = api.app.state.submission_gate
    refusals = {"503": 0, "409": 0, "lost": 0}
    # A refused reporter sends again once a place at the gate has been freed (one token per freed place: no herd).
    freed: asyncio.Queue[None] = asyncio.Queue()
    admit = gate.admit

    @contextlib.contextmanager
    def admit_and_tell() -> Iterator[None]:
        with admit():
            try:
                yield
            finally:
                freed.put_nowait(None)

    monkeypatch.setattr(gate, "admit", admit_and_tell)

    async def reporter(n: int) -> str:
        """Every third reporter's first receipt is lost on the way (the gateway gave up, the service went on); every
        fifth taps twice, sending the report twice at once. Each sends again with the same key until it holds one."""
        key, lost, taps = str(uuid.uuid4()), None, 2 if n % 5 == 0 else 1
        while True:
            answers = await asyncio.gather(*(api.post(
                "/reports", json=a_report(), headers=as_role("reporter", "anonymous-reporter") | {HEADER: key})
                for _ in range(taps)))
            taps = 1
            for answer in answers:
                if answer.status_code != 201:
                    assert answer.status_code in (503, 409), answer.text
                    assert int(answer.headers["Retry-After"]) >= 1
                    refusals[str(answer.status_code)] += 1
            receipts_now = {answer.json()["receipt"] for answer in answers if answer.status_code == 201}
            assert len(receipts_now) <= 1
            if receipts_now:
                receipt = receipts_now.pop()
                if n % 3 == 0 and lost is None:
                    lost = receipt
                    refusals["lost"] += 1
                    continue
                assert lost in (None, receipt), "a retry after a lost answer gets the same receipt"
                return receipt
            await freed.get()

    delivered = await asyncio.gather(*(reporter(n) for n in range(REPORTERS)))
    assert len(set(delivered)) == REPORTERS
    pepper = api.app.state.report_secrets.pepper
    async with sessionmaker() as session:
        stored = set(await session.scalars(select(Report.receipt_lookup)))
    # Every stored report is one whose receipt reached its reporter, and no reporter's report was stored twice.
    assert stored == {receipts.lookup_key(receipts.normalise(code) or "", pepper) for code in delivered}
    assert refusals["503"] > 0, refusals  # the gate did turn some away
    assert gate.in_flight == 0
