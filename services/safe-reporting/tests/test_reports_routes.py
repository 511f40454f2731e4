"""Reports over HTTP (as the gateway calls safe-reporting): refusals, receipts, the hub's work, referrals, purge."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from safe_reporting.audit.models import AccessAuditTable as audit
from safe_reporting.reports.models import Report, ReportMessage
from safe_reporting.reports.service import purge_closed_reports
from safe_support import a_report
from sqlalchemy import func, select, text, update

from verbinding_common import sealing

REPORTER = ("reporter", "anonymous-reporter")


@pytest.fixture
def reporter(as_role):
    return as_role(*REPORTER)


@pytest.fixture
def counsellor(as_role):
    return as_role("hub_counsellor", "hc-hana")


async def _count(sessionmaker, model) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def _submit(api, reporter, **overrides) -> str:
    answer = await api.post("/reports", json=a_report(**overrides), headers=reporter)
    assert answer.status_code == 201, answer.text
    return answer.json()["receipt"]


@pytest.mark.parametrize("extra", [
    {"residence_status": "undocumented"}, {"v_number": "1234567890"}, {"bsn": "111222333"},
    {"alien_number": "x"}, {"file_number": "IND-1"}, {"nationality": "SY"}, {"passport_number": "X1"},
    {"contact_details": {"vreemdelingennummer": "x"}},
])
async def test_a_report_carrying_immigration_status_is_refused_with_the_reason_and_nothing_is_stored(
        api, reporter, sessionmaker, extra) -> None:
    answer = await api.post("/reports", json={**a_report(), **extra}, headers=reporter)
    assert answer.status_code == 422
    assert "immigration status" in answer.json()["detail"]
    assert await _count(sessionmaker, Report) == 0


async def test_a_field_not_in_the_schema_is_refused_and_nothing_is_stored(api, reporter, sessionmaker) -> None:
    answer = await api.post("/reports", json={**a_report(), "favourite_colour": "blue"}, headers=reporter)
    assert answer.status_code == 422
    assert "favourite_colour" in answer.json()["detail"] and "not a field" in answer.json()["detail"]
    assert await _count(sessionmaker, Report) == 0


@pytest.mark.parametrize("field,value", [("description", "My V-number is V1234567890, please help"),
                                         ("description", "my BSN 111222333"), ("contact", "bsn 1112.22.333")])
async def test_a_text_holding_a_v_number_or_bsn_is_refused_with_a_request_to_leave_it_out(
        api, reporter, sessionmaker, field, value) -> None:
    answer = await api.post("/reports", json=a_report(**{field: value}), headers=reporter)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "leave" in detail and value not in detail
    assert await _count(sessionmaker, Report) == 0


async def test_a_phone_number_or_iban_as_contact_is_taken_and_a_spaced_bsn_is_not(api, reporter, sessionmaker) -> None:
    for contact in ("0612345678", "My phone 06-12345678", "NL91 ABNA 0417 1643 00"):
        assert (await api.post("/reports", json=a_report(contact=contact), headers=reporter)).status_code == 201
    assert (await api.post("/reports", json=a_report(contact="111 222 333"), headers=reporter)).status_code == 422
    assert await _count(sessionmaker, Report) == 3


async def test_the_receipt_follows_the_report_up_and_a_wrong_one_answers_like_a_missing_one(api, reporter) -> None:
    receipt = await _submit(api, reporter)
    seen = await api.post("/reports/follow-up", json={"receipt": receipt.replace("-", " ")}, headers=reporter)
    assert seen.status_code == 200 and seen.json()["state"] == "new"
    digits = receipt.replace("-", "")
    wrong = ("1" if digits[0] != "1" else "2") + digits[1:]
    answers = [await api.post("/reports/follow-up", json={"receipt": code}, headers=reporter)
               for code in (wrong, "0" * 20, "not a receipt")]
    assert {(a.status_code, a.text) for a in answers} == {(404, answers[0].text)}
    assert answers[0].json()["detail"] == "no report with this receipt"


async def test_guessing_receipts_slows_down_every_look_up_in_the_guessed_prefix(service_database, identity_keys,
                                                                               reporter) -> None:
    import httpx
    from safe_reporting.main import create_app
    from safe_support import safe_reporting_settings

    app = create_app(safe_reporting_settings(service_database, identity_keys[1],
                                             receipt_failures_per_window=5, receipt_window_s=600))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as api:
        receipt = await _submit(api, reporter)
        prefix = receipt.replace("-", "")[:3]
        wrong = [prefix + str(n) * 17 for n in range(7) if prefix + str(n) * 17 != receipt.replace("-", "")]
        for guessed in wrong[:5]:
            assert (await api.post("/reports/follow-up", json={"receipt": guessed}, headers=reporter)).status_code \
                == 404
        guess = await api.post("/reports/follow-up", json={"receipt": wrong[5]}, headers=reporter)
        right = await api.post("/reports/follow-up", json={"receipt": receipt}, headers=reporter)
    await app.state.engine.dispose()
    await app.state.shared_limits.engine.dispose()
    # Once the prefix's budget is spent, a right receipt waits as a wrong one does: the throttle is no oracle.
    assert guess.status_code == right.status_code == 429
    assert int(right.headers["retry-after"]) > 0


async def test_the_database_holds_no_plaintext_and_a_wrong_key_cannot_open_it(api, reporter, counsellor,
                                                                              sessionmaker) -> None:
    # Letters only: a run of ten digits in a hex string is shaped like a V-number, and would be refused.
    sentinel = "Sentinel-" + uuid.uuid4().hex.translate(str.maketrans("0123456789", "ghijklmnop"))
    await _submit(api, reporter, description=f"{sentinel} took my passport", contact=f"{sentinel}@example.org")
    report_id = (await api.get("/reports", headers=counsellor)).json()[0]["id"]
    await api.post(f"/reports/{report_id}/messages", json={"text": f"{sentinel} reply"}, headers=counsellor)
    async with sessionmaker() as session:
        tables = (await session.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"))).all()
        dump = []
        for table, column in tables:
            values = await session.scalars(text(f'SELECT "{column}"::text FROM "{table}"'))
            dump.extend(v for v in values if v is not None)
        for value in dump:
            assert sentinel not in value
            assert sentinel.encode().hex() not in value  # bytea is dumped as hex
        report = await session.get_one(Report, uuid.UUID(report_id))
    stranger = sealing.Keyring(keys={"k1": os.urandom(32)}, current="k1")
    with pytest.raises(sealing.SealBroken):
        sealing.unwrap(stranger, wrapped=report.wrapped_key, kek_id=report.kek_id, owner_id=report_id)
    opened = (await api.get(f"/reports/{report_id}", headers=counsellor)).json()
    assert opened["description"].startswith(sentinel) and opened["contact"] == f"{sentinel}@example.org"


async def test_every_opening_of_a_report_and_every_refused_one_is_audited(api, reporter, counsellor,
                                                                          sessionmaker) -> None:
    await _submit(api, reporter)
    listed = (await api.get("/reports", headers=counsellor)).json()
    assert set(listed[0]) >= {"id", "category", "district", "state"} and "description" not in listed[0]
    report_id = listed[0]["id"]
    assert (await api.get(f"/reports/{report_id}", headers=counsellor)).status_code == 200
    missing = uuid.uuid4()
    assert (await api.get(f"/reports/{missing}", headers=counsellor)).status_code == 404
    async with sessionmaker() as session:
        entries = (await session.execute(select(audit.c.subject, audit.c.action, audit.c.record_id,
                                                audit.c.outcome).order_by(audit.c.id))).all()
    assert ("hc-hana", "GET /reports/{report_id}", uuid.UUID(report_id), "allowed") in entries
    assert ("hc-hana", "GET /reports/{report_id}", missing, "not_found") in entries


@pytest.mark.parametrize("role", ["case_manager", "ngo_partner", "team_lead", "ops", "job_hunter", "reporter"])
async def test_no_one_but_a_hub_counsellor_reaches_the_hubs_routes(api, as_role, role) -> None:
    headers = as_role(role)
    for method, path in [("GET", "/reports"), ("GET", f"/reports/{uuid.uuid4()}"),
                         ("POST", f"/reports/{uuid.uuid4()}/state")]:
        answer = await api.request(method, path, headers=headers, json={"state": "closed"})
        assert answer.status_code == 403, (role, path)


async def test_a_referral_carries_exactly_the_consented_fields_and_withdrawn_consent_stops_it(
        api, reporter, counsellor, sessionmaker) -> None:
    receipt = await _submit(api, reporter, contact="call Ana, 06 12 34 56 78")
    report_id = (await api.get("/reports", headers=counsellor)).json()[0]["id"]
    refer = f"/reports/{report_id}/referrals"
    assert (await api.post(refer, json={"kind": "police"}, headers=counsellor)).status_code == 409

    consent = {"receipt": receipt, "kind": "police", "fields": ["category", "description"]}
    assert (await api.post("/reports/follow-up/consents", json=consent, headers=reporter)).status_code == 201
    withdrawn = {"receipt": receipt, "kind": "police"}
    assert (await api.post("/reports/follow-up/consents/withdraw", json=withdrawn, headers=reporter)).status_code \
        == 200
    assert (await api.post(refer, json={"kind": "police"}, headers=counsellor)).status_code == 409

    consent["fields"] = ["district", "contact"]
    assert (await api.post("/reports/follow-up/consents", json=consent, headers=reporter)).status_code == 201
    made = await api.post(refer, json={"kind": "police"}, headers=counsellor)
    assert made.status_code == 201, made.text
    assert made.json()["package"] == {"district": "nieuw_west", "contact": "call Ana, 06 12 34 56 78"}
    too_late = await api.post("/reports/follow-up/consents/withdraw", json=withdrawn, headers=reporter)
    assert too_late.status_code == 409 and "already been made" in too_late.json()["detail"]
    followed = (await api.post("/reports/follow-up", json={"receipt": receipt}, headers=reporter)).json()
    assert followed["state"] == "referred"
    # Another kind of referral needs consent of its own.
    assert (await api.post(refer, json={"kind": "legal_counselling"}, headers=counsellor)).status_code == 409
    async with sessionmaker() as session:
        outcomes = list(await session.scalars(select(audit.c.outcome).where(
            audit.c.action == "POST /reports/{report_id}/referrals").order_by(audit.c.id)))
    assert outcomes == ["refused", "refused", "allowed", "refused"]


async def test_counsellor_and_reporter_write_to_each_other_through_the_receipt(api, reporter, counsellor) -> None:
    receipt = await _submit(api, reporter)
    report_id = (await api.get("/reports", headers=counsellor)).json()[0]["id"]
    assert (await api.post(f"/reports/{report_id}/messages", json={"text": "We can help. Can we call you?"},
                           headers=counsellor)).status_code == 201
    answer = await api.post("/reports/follow-up/messages", json={"receipt": receipt, "text": "Yes, evenings."},
                            headers=reporter)
    assert answer.status_code == 201
    assert [(m["author"], m["text"]) for m in answer.json()["messages"]] == [
        ("counsellor", "We can help. Can we call you?"), ("reporter", "Yes, evenings.")]


async def test_a_report_moves_new_in_progress_closed_and_not_backwards(api, reporter, counsellor) -> None:
    await _submit(api, reporter)
    report_id = (await api.get("/reports", headers=counsellor)).json()[0]["id"]
    state = f"/reports/{report_id}/state"
    assert (await api.post(state, json={"state": "in_progress"}, headers=counsellor)).json()["state"] == "in_progress"
    assert (await api.post(state, json={"state": "new"}, headers=counsellor)).status_code == 409
    assert (await api.post(state, json={"state": "closed"}, headers=counsellor)).json()["state"] == "closed"
    assert (await api.post(f"/reports/{report_id}/messages", json={"text": "x"}, headers=counsellor)).status_code \
        == 409


async def test_purge_removes_closed_reports_past_retention_and_nothing_else(api, reporter, counsellor,
                                                                           sessionmaker) -> None:
    receipts = [await _submit(api, reporter) for _ in range(3)]
    ids = [r["id"] for r in (await api.get("/reports", headers=counsellor)).json()]
    old_closed, recent_closed, open_one = ids
    for report_id in (old_closed, recent_closed):
        await api.get(f"/reports/{report_id}", headers=counsellor)
        await api.post(f"/reports/{report_id}/messages", json={"text": "bye"}, headers=counsellor)
        await api.post(f"/reports/{report_id}/state", json={"state": "closed"}, headers=counsellor)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Report).where(Report.id == uuid.UUID(old_closed))
                              .values(closed_at=datetime.now(UTC) - timedelta(days=200)))
    async with sessionmaker() as session, session.begin():
        assert await purge_closed_reports(session=session, retention=timedelta(days=180)) == 1
    async with sessionmaker() as session:
        remaining = {str(i) for i in await session.scalars(select(Report.id))}
        messages = {str(i) for i in await session.scalars(select(ReportMessage.report_id))}
        trail = (await session.execute(select(audit.c.action, audit.c.outcome)
                                       .where(audit.c.record_id == uuid.UUID(old_closed)))).all()
    assert remaining == {recent_closed, open_one}
    assert old_closed not in messages
    assert trail == [("purge", "purged")]
    # Its receipt now finds nothing; the others still do.
    followed = [await api.post("/reports/follow-up", json={"receipt": r}, headers=reporter) for r in receipts]
    assert sorted(a.status_code for a in followed) == [200, 200, 404]


def test_the_development_keys_are_refused_outside_development(service_database) -> None:
    from safe_reporting.settings import _DEV_REPORT_KEY
    from safe_support import safe_reporting_settings

    with pytest.raises(ValueError, match="development key"):
        safe_reporting_settings(service_database, "k", report_key=_DEV_REPORT_KEY)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        safe_reporting_settings(service_database, "k", receipt_pepper=base64.b64encode(b"short").decode())


async def test_open_reports_without_activity_are_closed_with_notice_to_the_hub_and_then_purged(
        api, reporter, counsellor, sessionmaker) -> None:
    from safe_reporting.reports.service import close_inactive_reports

    quiet, talking = await _submit(api, reporter), await _submit(api, reporter)
    await api.post("/reports/follow-up/messages", json={"receipt": talking, "text": "any news?"}, headers=reporter)
    long_ago = datetime.now(UTC) - timedelta(days=400)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Report).values(created_at=long_ago))  # both taken in long ago
    async with sessionmaker() as session, session.begin():
        assert await close_inactive_reports(session=session, inactive_for=timedelta(days=365)) == 1
    states = {(await api.post("/reports/follow-up", json={"receipt": r}, headers=reporter)).json()["state"]
              for r in (quiet, talking)}
    assert states == {"closed", "new"}  # the one with a recent message stays open
    async with sessionmaker() as session:
        notice = (await session.execute(select(audit.c.subject, audit.c.action, audit.c.outcome)
                                        .where(audit.c.action == "close_inactive"))).all()
    assert notice == [("retention", "close_inactive", "closed_inactive")]
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Report).where(Report.state == "closed")
                              .values(closed_at=datetime.now(UTC) - timedelta(days=200)))
        assert await purge_closed_reports(session=session, retention=timedelta(days=180)) == 1
    assert (await api.post("/reports/follow-up", json={"receipt": quiet}, headers=reporter)).status_code == 404
