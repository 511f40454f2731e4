"""A reporter who retries a report with its Idempotency-Key gets its receipt again, stored once and unreadable."""

from __future__ import annotations

import uuid

from safe_reporting.reports.models import Report
from safe_support import a_report
from sqlalchemy import func, select, text

from verbinding_common.idempotency import HEADER, REPLAYED_HEADER


async def test_a_retried_report_gets_its_receipt_again_and_is_stored_once(api, as_role, sessionmaker) -> None:
    key = str(uuid.uuid4())
    report = a_report()
    # Two anonymous reporters: the gateway vouches for every one alike, so the key alone tells their writes apart.
    first = await api.post("/reports", json=report, headers=as_role("reporter", "anonymous-reporter") | {HEADER: key})
    again = await api.post("/reports", json=report, headers=as_role("reporter", "anonymous-reporter") | {HEADER: key})
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers[REPLAYED_HEADER] == "true"
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 1
        kept = await session.scalar(text("SELECT string_agg(t::text, '|') FROM idempotency_key t"))
    receipt = first.json()["receipt"]
    for secret in (receipt, receipt.encode().hex(), key, key.encode().hex()):
        assert secret not in kept
