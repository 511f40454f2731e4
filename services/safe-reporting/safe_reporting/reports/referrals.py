"""Referrals to the police, legal counselling or victim support: only with the reporter's consent, only its fields."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.errors import Conflict

from . import sealed
from .models import Referral, ReferralConsent, ReferralField, ReferralKind, ReferralRead, Report, ReportState
from .service import Secrets, data_key_of


async def _active_consent(session: AsyncSession, report: Report, kind: ReferralKind) -> ReferralConsent | None:
    return await session.scalar(select(ReferralConsent).where(
        ReferralConsent.report_id == report.id, ReferralConsent.kind == kind,
        ReferralConsent.withdrawn_at.is_(None), ReferralConsent.used_at.is_(None)).with_for_update())


async def give_consent(*, session: AsyncSession, report: Report, kind: ReferralKind,
                       fields: list[ReferralField]) -> None:
    """The reporter agrees to a referral of this kind carrying these fields (replacing an earlier, unused one)."""
    if report.state == ReportState.closed:
        raise Conflict("this report is closed")
    earlier = await _active_consent(session, report, kind)
    if earlier is not None:
        earlier.withdrawn_at = sealed.day_of()
    session.add(ReferralConsent(report_id=report.id, kind=kind, fields=sorted({str(f) for f in fields}),
                                given_at=sealed.day_of()))


async def withdraw_consent(*, session: AsyncSession, report: Report, kind: ReferralKind) -> None:
    """Withdraw consent until the referral is made; after that it cannot be undone here."""
    consent = await _active_consent(session, report, kind)
    if consent is None:
        used = await session.scalar(select(ReferralConsent.id).where(
            ReferralConsent.report_id == report.id, ReferralConsent.kind == kind,
            ReferralConsent.used_at.is_not(None)))
        raise Conflict("the referral has already been made" if used else "there is no consent to withdraw")
    consent.withdrawn_at = sealed.day_of()


async def make_referral(*, session: AsyncSession, report: Report, kind: ReferralKind, actor: str,
                        secrets: Secrets) -> ReferralRead:
    """Refer the report with exactly the fields its reporter consented to; refused without a live consent."""
    if report.state == ReportState.closed:
        raise Conflict("this report is closed")
    consent = await _active_consent(session, report, kind)
    if consent is None:
        raise Conflict("the reporter has not consented to this referral (or withdrew consent)")
    data_key = data_key_of(report, secrets)
    rid = str(report.id)
    values: dict[str, str | None] = {
        ReferralField.category: report.category,
        ReferralField.district: report.district,
        ReferralField.approximate_time: report.occurred_on.isoformat()
        + (f" ({report.part_of_day})" if report.part_of_day else ""),
        ReferralField.description: sealed.open_text(data_key, report.description_sealed, owner_id=rid,
                                                     field="description"),
        ReferralField.contact: sealed.open_text(data_key, report.contact_sealed, owner_id=rid, field="contact"),
        ReferralField.answer_language: report.answer_language,
    }
    package = {str(field): values[ReferralField(field)] for field in consent.fields}
    now = sealed.day_of()
    consent.used_at = now
    referral = Referral(report_id=report.id, consent_id=consent.id, kind=kind, made_by=actor, made_at=now,
                        package_sealed=sealed.seal_text(data_key, json.dumps(package), owner_id=rid,
                                                         field=f"referral:{kind}"))
    session.add(referral)
    report.state = ReportState.referred
    await session.flush()
    return ReferralRead(id=referral.id, kind=kind, made_at=now, package=package)
