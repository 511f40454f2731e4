"""Retention in intake: who has expired, their erasure (announced, ids only), the sweep of late copies, and the
access audit's own, longer retention."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, func, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.intake import PersonCorrected, PersonErased
from verbinding_common.db import outbox_table
from verbinding_common.outbox import add_event, add_events

from ..audit.models import AccessAuditTable
from ..holders.models import CLOSED, CaseHolder, ServingJobHunter
from ..households.models import Household
from ..persons.models import Person
from ..recognitions.models import RecognitionProgress
from .models import CORRECTABLE, AccessRequest, Correction, ErasedPersonTable, PersonCorrection
from .tombstones import purge_expired_numbers, remember_erased_numbers

# Support runs 3 years from recognition (case-plan opens every case with it: docs/domain.md).
SUPPORT_YEARS = 3


@dataclass(frozen=True)
class Retention:
    """How long intake keeps each kind of record (its settings, docs/domain.md "Retention")."""

    person_days: int
    rejected_recognition_days: int
    access_audit_days: int
    erased_number_days: int


async def expired_persons(*, session: AsyncSession, today: date, retention: Retention, limit: int) -> list[UUID]:
    """Persons whose support ended (3 years after recognition, or the case's closure if earlier) more than the
    retention ago, at most `limit`, locked (others running the same job skip them)."""
    support_window_end = Person.recognised_on + text(f"interval '{SUPPORT_YEARS} years'")
    closed_on = func.cast(CaseHolder.updated_at, type_=Person.recognised_on.type)
    support_ended = func.least(support_window_end, select(closed_on).where(
        CaseHolder.person_id == Person.id, CaseHolder.status == CLOSED).scalar_subquery())
    rows = await session.scalars(
        select(Person.id)
        .where(support_ended + literal(timedelta(days=retention.person_days)) <= today)
        .order_by(Person.id).limit(limit).with_for_update(skip_locked=True))
    return list(rows)


async def erase_persons(*, session: AsyncSession, person_ids: Sequence[UUID], pepper: bytes,
                        remember_numbers_until: datetime) -> list[UUID]:
    """Erase everything intake holds about these persons (the access audit keeps its ids, for its own retention),
    remember their ids (and, until the given time, their COA numbers' keyed hashes), and announce each erasure once:
    a person erased before is not announced again."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return []
    numbers = list(await session.scalars(select(Person.coa_registration_number).where(Person.id.in_(ids))))
    households = set(await session.scalars(select(Person.household_id).where(Person.id.in_(ids))))
    # A partner's record names the erased person's COA number: it goes too.
    if numbers:
        await session.execute(update(Person).where(Person.family_reunification_with.in_(numbers))
                              .values(family_reunification_with=None))
    await session.execute(delete(Person).where(Person.id.in_(ids)))  # the interview and consents cascade
    if households:
        await session.execute(delete(Household).where(
            Household.id.in_(households), ~select(Person.id).where(Person.household_id == Household.id).exists()))
    await _erase_copies(session=session, person_ids=ids, coa_numbers=numbers)
    await remember_erased_numbers(session=session, numbers=numbers, pepper=pepper, until=remember_numbers_until)
    newly = list(await session.scalars(
        pg_insert(ErasedPersonTable).values([{"person_id": person_id} for person_id in ids])
        .on_conflict_do_nothing().returning(ErasedPersonTable.c.person_id)))
    await add_events(session, [(PersonErased(person_id=person_id), str(person_id)) for person_id in newly])
    return newly


async def sweep_erased(*, session: AsyncSession) -> None:
    """Erase again what events that arrived after an erasure brought back (case-plan's late case facts, employment's
late assignments)."""
    erased = select(ErasedPersonTable.c.person_id)
    await session.execute(delete(CaseHolder).where(CaseHolder.person_id.in_(erased)))
    await session.execute(delete(ServingJobHunter).where(ServingJobHunter.person_id.in_(erased)))
    await session.execute(delete(RecognitionProgress).where(RecognitionProgress.person_id.in_(erased)))


async def purge_expired_records(*, session: AsyncSession, now: datetime, retention: Retention) -> None:
    """Rejected recognitions (no person), access-audit rows and erased COA numbers' hashes past their own
    retentions."""
    await session.execute(delete(RecognitionProgress).where(
        RecognitionProgress.person_id.is_(None),
        RecognitionProgress.updated_at < now - timedelta(days=retention.rejected_recognition_days)))
    await session.execute(delete(AccessAuditTable).where(
        AccessAuditTable.c.at < now - timedelta(days=retention.access_audit_days)))
    await session.execute(delete(AccessRequest).where(AccessRequest.expires_at <= now))
    await purge_expired_numbers(session=session, now=now)


async def _erase_copies(*, session: AsyncSession, person_ids: list[UUID], coa_numbers: list[str]) -> None:
    """Intake's projections about these persons, and the events about them still held for republication."""
    await session.execute(delete(CaseHolder).where(CaseHolder.person_id.in_(person_ids)))
    await session.execute(delete(ServingJobHunter).where(ServingJobHunter.person_id.in_(person_ids)))
    await session.execute(delete(RecognitionProgress).where(or_(
        RecognitionProgress.person_id.in_(person_ids), RecognitionProgress.coa_registration_number.in_(coa_numbers))))
    keys = [str(person_id) for person_id in person_ids] + coa_numbers
    await session.execute(delete(outbox_table).where(outbox_table.c.key.in_(keys)))


async def correct_person(*, session: AsyncSession, person_id: UUID, correction: PersonCorrection,
                         corrected_by: str) -> Correction | None:
    """Correct the person's record, record which fields changed and why (not the old values), and announce the
    corrected values others copy (languages); None for an unknown person."""
    person = await session.get(Person, person_id, with_for_update=True, populate_existing=True)
    if person is None:
        return None
    wanted = {name: getattr(correction, name) for name in CORRECTABLE if getattr(correction, name) is not None}
    if "languages" in wanted:
        wanted["languages"] = list(dict.fromkeys(wanted["languages"]))
    changed = [name for name, value in wanted.items() if getattr(person, name) != value]
    for name in changed:
        setattr(person, name, wanted[name])
    row = Correction(person_id=person_id, fields=changed, reason=correction.reason, corrected_by=corrected_by)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    if "languages" in changed:
        await add_event(session, PersonCorrected(person_id=person_id, languages=person.languages), key=str(person_id))
    return row
