"""Reports: taking one in (sealed, with a receipt), following it up by receipt, and the hub's work on it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common import sealing
from verbinding_common.errors import Conflict, NotFound

from ..audit.models import AccessAuditTable
from ..errors import TooManyGuesses
from . import receipts, sealed
from .models import (
    ConsentRead,
    MessageRead,
    ReferralConsent,
    Report,
    ReportCreate,
    ReportMessage,
    ReportState,
    ReportSummary,
    ReportTally,
)
from .screening import screen_texts
from .throttle import GuessThrottle

# Where a report may go next; a referral moves it to `referred` by itself.
NEXT_STATES = {
    ReportState.new: {ReportState.in_progress, ReportState.closed},
    ReportState.in_progress: {ReportState.closed},
    ReportState.referred: {ReportState.in_progress, ReportState.closed},
    ReportState.closed: set(),
}


@dataclass(frozen=True)
class Secrets:
    """The keys only this service holds."""

    keyring: sealing.Keyring
    pepper: bytes


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


async def submit_report(*, session: AsyncSession, report: ReportCreate, secrets: Secrets) -> str:
    """Take a report in: contents sealed under a new data key, the week's tally counted; returns the receipt."""
    screen_texts([("description", report.description), ("contact", report.contact)])
    receipt = receipts.new_receipt()
    digits = receipts.normalise(receipt)
    assert digits is not None
    report_id = uuid.uuid4()
    data_key = sealing.new_data_key(secrets.keyring, str(report_id))
    week = iso_week(datetime.now(UTC).date())
    session.add(Report(
        id=report_id, reporter_role=report.role, category=report.category, district=report.district,
        occurred_on=report.occurred_on, part_of_day=report.part_of_day, answer_language=report.answer_language,
        state=ReportState.new, iso_week=week, created_at=sealed.day_of(), wrapped_key=data_key.wrapped,
        kek_id=data_key.kek_id,
        description_sealed=sealed.seal_text(data_key.key, report.description, owner_id=str(report_id),
                                             field="description"),
        contact_sealed=sealed.seal_text(data_key.key, report.contact, owner_id=str(report_id), field="contact"),
        receipt_lookup=receipts.lookup_key(digits, secrets.pepper),
        receipt_verifier=await receipts.make_verifier(digits),
    ))
    await session.execute(
        pg_insert(ReportTally).values(iso_week=week, category=report.category, district=report.district, reports=1)
        .on_conflict_do_update(index_elements=["iso_week", "category", "district"],
                               set_={"reports": ReportTally.reports + 1}))
    return receipt


async def report_by_receipt(*, session: AsyncSession, receipt: str, secrets: Secrets,
                            throttle: GuessThrottle) -> Report:
    """The report this receipt belongs to. A wrong receipt answers like a missing one and spends its prefix's budget."""
    typed = receipts.normalise(receipt)
    bucket = throttle.bucket(typed)
    wait = await throttle.wait_s(bucket)
    if wait:
        raise TooManyGuesses("too many wrong receipts were tried in a short time; try again later",
                             retry_after_s=wait)
    digits = typed or "0" * receipts.DIGITS
    report = await session.scalar(select(Report).where(
        Report.receipt_lookup == receipts.lookup_key(digits, secrets.pepper)).with_for_update())
    matches = await receipts.verify(digits, report.receipt_verifier if report is not None else None)
    if report is None or not matches or typed is None:
        await throttle.failed(bucket)
        raise NotFound("no report with this receipt")
    return report


def data_key_of(report: Report, secrets: Secrets) -> bytes:
    return sealing.unwrap(secrets.keyring, wrapped=report.wrapped_key, kek_id=report.kek_id, owner_id=str(report.id))


async def messages_of(*, session: AsyncSession, report: Report, data_key: bytes) -> list[MessageRead]:
    rows = await session.scalars(select(ReportMessage).where(ReportMessage.report_id == report.id)
                                 .order_by(ReportMessage.id))
    return [MessageRead(author=row.author, at=row.created_at,  # type: ignore[arg-type]
                        text=sealed.open_text(data_key, row.body_sealed, owner_id=str(report.id),
                                               field=f"message:{row.author}") or "")
            for row in rows]


async def consents_of(*, session: AsyncSession, report: Report) -> list[ConsentRead]:
    rows = await session.scalars(select(ReferralConsent).where(ReferralConsent.report_id == report.id)
                                 .order_by(ReferralConsent.given_at, ReferralConsent.id))
    return [ConsentRead(kind=row.kind, fields=row.fields, given_at=row.given_at,  # type: ignore[arg-type]
                        withdrawn_at=row.withdrawn_at, used_at=row.used_at) for row in rows]


async def add_message(*, session: AsyncSession, report: Report, author: str, text: str, secrets: Secrets) -> None:
    """A message from the reporter or the hub, sealed under the report's data key; none once it is closed."""
    if report.state == ReportState.closed:
        raise Conflict("this report is closed")
    if author == "reporter":
        screen_texts([("text", text)])
    session.add(ReportMessage(report_id=report.id, author=author, created_at=sealed.day_of(),
                              body_sealed=sealed.seal_text(data_key_of(report, secrets), text, owner_id=str(report.id),
                                                           field=f"message:{author}")))


async def list_reports(*, session: AsyncSession, state: ReportState | None, limit: int,
                       offset: int) -> list[ReportSummary]:
    """Metadata of reports for the hub, newest first; nothing sealed is opened."""
    query = select(Report).order_by(Report.created_at.desc(), Report.id).limit(limit).offset(offset)
    if state is not None:
        query = query.where(Report.state == state)
    return [summary_of(report) for report in await session.scalars(query)]


def summary_of(report: Report) -> ReportSummary:
    return ReportSummary(id=report.id, reporter_role=report.reporter_role, category=report.category,  # type: ignore[arg-type]
                         district=report.district, iso_week=report.iso_week, state=report.state,  # type: ignore[arg-type]
                         answer_language=report.answer_language, has_contact=report.contact_sealed is not None,
                         received_on=report.created_at.date())


async def get_report(*, session: AsyncSession, report_id: uuid.UUID, for_update: bool = False) -> Report:
    query = select(Report).where(Report.id == report_id)
    report = await session.scalar(query.with_for_update() if for_update else query)
    if report is None:
        raise NotFound("no such report")
    return report


async def change_state(*, session: AsyncSession, report: Report, state: ReportState) -> None:
    """Move the report on (new → in progress → referred → closed); closing starts the retention clock."""
    if state not in NEXT_STATES[ReportState(report.state)]:
        raise Conflict(f"a report in state {report.state} cannot move to {state}")
    report.state = state
    if state == ReportState.closed:
        report.closed_at = sealed.day_of()


async def purge_closed_reports(*, session: AsyncSession, retention: timedelta) -> int:
    """Delete closed reports past retention (contents, messages, consents, referrals, receipt) and their read audit;
    the audit keeps one line saying the report existed and was purged."""
    cutoff = datetime.now(UTC) - retention
    purged = list(await session.scalars(delete(Report).where(
        Report.state == ReportState.closed, Report.closed_at < cutoff).returning(Report.id)))
    if purged:
        audit = AccessAuditTable
        await session.execute(delete(audit).where(audit.c.record_kind == "report", audit.c.record_id.in_(purged)))
        await session.execute(insert(audit), [
            {"subject": "retention", "roles": [], "action": "purge", "record_kind": "report", "record_id": report_id,
             "outcome": "purged"} for report_id in purged])
    return len(purged)


async def close_inactive_reports(*, session: AsyncSession, inactive_for: timedelta) -> int:
    """Close open reports with no activity (taken in, a message either way, a consent) for `inactive_for`, so that
    the retention of closed reports purges them in turn; the hub is told by one audit line per report (subject
    `retention`, outcome `closed_inactive`) and sees them closed in its list."""
    cutoff = sealed.day_of() - inactive_for
    last_message = (select(func.max(ReportMessage.created_at)).where(ReportMessage.report_id == Report.id)
                    .scalar_subquery())
    last_consent = (select(func.max(ReferralConsent.given_at)).where(ReferralConsent.report_id == Report.id)
                    .scalar_subquery())
    activity = func.greatest(Report.created_at, func.coalesce(last_message, Report.created_at),
                             func.coalesce(last_consent, Report.created_at))
    closed = list(await session.scalars(
        update(Report).where(Report.state != ReportState.closed, activity < cutoff)
        .values(state=ReportState.closed, closed_at=sealed.day_of()).returning(Report.id)))
    if closed:
        await session.execute(insert(AccessAuditTable), [
            {"subject": "retention", "roles": [], "action": "close_inactive", "record_kind": "report",
             "record_id": report_id, "outcome": "closed_inactive"} for report_id in closed])
    return len(closed)


async def count_reports(*, session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Report)) or 0
