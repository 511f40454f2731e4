"""What the database tells without a key is coarse: times at the day's grain, ciphertexts padded to size buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from safe_reporting.reports.sealed import BUCKETS, open_text, padded_size, seal_text
from safe_support import a_report
from sqlalchemy import text

from verbinding_common import sealing

# AES-GCM's nonce and tag: a sealed text is its padded plaintext plus this many bytes.
SEAL_OVERHEAD = 28
REPORT_TABLES = ("report", "report_message", "referral_consent", "referral")


@pytest.mark.parametrize("length", [0, 1, 254, 255, 256, 1000, 5000, 40000])
def test_a_sealed_text_opens_to_itself_and_its_length_tells_only_its_bucket(length: int) -> None:
    key = bytes(range(32))
    words = "é" * (length // 2) + "a" * (length % 2)
    sealed = seal_text(key, words, owner_id="r", field="description")
    assert open_text(key, sealed, owner_id="r", field="description") == words
    assert len(sealed) - SEAL_OVERHEAD == padded_size(len(words.encode()) + 1)
    assert len(sealed) - SEAL_OVERHEAD in BUCKETS or (len(sealed) - SEAL_OVERHEAD) % BUCKETS[-1] == 0


def test_a_text_sealed_before_padding_still_opens() -> None:
    key = bytes(range(32))
    old = sealing.seal_text(key, "written before padding", owner_id="r", field="contact")
    assert open_text(key, old, owner_id="r", field="contact") == "written before padding"


async def test_a_scan_of_the_database_finds_no_time_finer_than_the_day_and_only_padded_lengths(
        api, as_role, sessionmaker) -> None:
    reporter = as_role("reporter", "anonymous-reporter")
    counsellor = as_role("hub_counsellor", "hc-hana")
    receipts = []
    longer = "A much longer account of what happened " * 12
    for description, contact in (("Short.", None), (longer, "Ana, 06-12345678")):
        answer = await api.post("/reports", json=a_report(description=description, contact=contact), headers=reporter)
        assert answer.status_code == 201, answer.text
        receipts.append(answer.json()["receipt"])
    for receipt in receipts:
        consent = {"receipt": receipt, "kind": "police", "fields": ["category", "description"]}
        assert (await api.post("/reports/follow-up/consents", json=consent, headers=reporter)).status_code == 201
        reply = {"receipt": receipt, "text": "thank you"}
        assert (await api.post("/reports/follow-up/messages", json=reply, headers=reporter)).status_code == 201
    for listed in (await api.get("/reports", headers=counsellor)).json():
        path = f"/reports/{listed['id']}"
        assert (await api.post(f"{path}/messages", json={"text": "We can help."}, headers=counsellor)).status_code \
            == 201
        assert (await api.post(f"{path}/referrals", json={"kind": "police"}, headers=counsellor)).status_code == 201
        assert (await api.post(f"{path}/state", json={"state": "closed"}, headers=as_role("hub_counsellor", "hc-hana"))
                ).status_code == 200

    times, lengths = [], []
    async with sessionmaker() as session:
        columns = (await session.execute(text(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = ANY(:tables)"), {"tables": list(REPORT_TABLES)})).all()
        for table, column, data_type in columns:
            if data_type.startswith("timestamp"):
                times += [v for v in await session.scalars(text(f'SELECT "{column}" FROM "{table}"')) if v]
            elif column.endswith("_sealed"):
                lengths += [v for v in await session.scalars(text(f'SELECT length("{column}") FROM "{table}"')) if v]
    assert len(times) >= 12 and len(lengths) == 9  # 2 descriptions, 1 contact, 4 messages, 2 referrals
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert {moment.astimezone(UTC) for moment in times} <= {day}, "no time finer than the day"
    assert {length - SEAL_OVERHEAD for length in lengths} <= set(BUCKETS), sorted(set(lengths))


async def test_a_keyed_submissions_stored_answer_tells_its_time_to_the_hour_only(api, as_role, sessionmaker) -> None:
    reporter = {**as_role("reporter", "anonymous-reporter"), "Idempotency-Key": "grain-0123456789abcdef"}
    assert (await api.post("/reports", json=a_report(), headers=reporter)).status_code == 201
    async with sessionmaker() as session:
        rows = (await session.execute(text("SELECT created_at, expires_at FROM idempotency_key"))).all()
    moments = [moment for row in rows for moment in row]
    assert len(moments) == 2 and all((m.minute, m.second, m.microsecond) == (0, 0, 0) for m in moments), moments
    created, expires = rows[0]
    assert expires - created >= timedelta(hours=1)  # at least the retention (1 h here)
