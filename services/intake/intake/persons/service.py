"""Registering recognised refugees (once per COA number) and reading their records."""

import uuid
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.contracts.intake import PersonRegistered
from verbinding_common.outbox import add_event

from ..audit.service import Reader, record_reads
from ..database import SOURCE
from ..households.service import create_household
from ..interviews.models import Interview
from .models import IN_INTAKE, Person, RecognitionStatusRead

# pg_advisory_xact_lock(ns, hashtext(coa number)): recognitions naming the same COA numbers register one at a time.
COA_LOCK_NAMESPACE = 0x1A7E


async def register_recognised_person(*, session: AsyncSession, recognition: StatusRecognised) -> Person | None:
    """Take a recognised refugee into intake while they live in their reception centre, and announce it;
    None when their COA number is already known (a redelivery changes nothing)."""
    own_number, partner_number = recognition.coa_registration_number, recognition.family_reunification_with
    await _lock_coa_numbers(session, {own_number, partner_number} - {None})
    known = await session.scalar(select(Person.id).where(Person.coa_registration_number == own_number))
    if known is not None:
        return None
    person = Person(
        id=uuid.uuid4(),
        coa_registration_number=own_number,
        family_name=recognition.family_name,
        given_names=recognition.given_names,
        date_of_birth=recognition.date_of_birth,
        gender=recognition.gender,
        country_of_origin=recognition.country_of_origin,
        languages=list(recognition.languages),
        reception_centre=recognition.reception_centre,
        recognised_on=recognition.recognised_on,
        household_id=await _household_to_join(session=session, own_number=own_number,
                                              partner_number=partner_number),
        family_reunification=partner_number is not None,
        family_reunification_with=partner_number,
        status=IN_INTAKE,
    )
    session.add(person)
    # The unique COA number is the last line of defence; the advisory lock makes a clash here very unlikely, and
    # if it happens the consumer retries and finds the person registered.
    await session.flush()
    await add_event(session, PersonRegistered(
        person_id=person.id, household_id=person.household_id, recognised_on=person.recognised_on,
        gender=person.gender, languages=person.languages, family_reunification=person.family_reunification,
    ), key=str(person.id), source=SOURCE)
    return person


async def _lock_coa_numbers(session: AsyncSession, numbers: set[str]) -> None:
    # Sorted, so two recognitions naming each other lock in the same order and cannot deadlock.
    for number in sorted(numbers):
        await session.execute(select(func.pg_advisory_xact_lock(COA_LOCK_NAMESPACE, func.hashtext(number))))


async def _household_to_join(*, session: AsyncSession, own_number: str, partner_number: str | None) -> UUID:
    """The named partner's household; else that of someone who named this person as their partner; else a new one."""
    if partner_number is not None:
        partner_household = await session.scalar(
            select(Person.household_id).where(Person.coa_registration_number == partner_number))
        if partner_household is not None:
            return partner_household
    named_by = await session.scalar(
        select(Person.household_id).where(Person.family_reunification_with == own_number)
        .order_by(Person.registered_at, Person.id).limit(1))
    if named_by is not None:
        return named_by
    return await create_household(session=session)


WITH_INTERVIEW = selectinload(Person.interview).selectinload(Interview.consents)


async def read_person(*, session: AsyncSession, person_id: UUID, reader: Reader) -> Person | None:
    """The person's record with their interview (the read is audited); None if unknown."""
    person = await session.scalar(select(Person).where(Person.id == person_id).options(WITH_INTERVIEW))
    if person is not None:
        await record_reads(session=session, reader=reader, person_ids=[person.id])
    return person


async def find_persons_by_coa_number(*, session: AsyncSession, coa_registration_number: str,
                                     reader: Reader) -> list[Person]:
    """The person (0 or 1) registered under a COA number (the read is audited)."""
    persons = list((await session.scalars(
        select(Person).where(Person.coa_registration_number == coa_registration_number).options(WITH_INTERVIEW)
    )).all())
    await record_reads(session=session, reader=reader, person_ids=[p.id for p in persons])
    return persons


async def recognition_status(*, session: AsyncSession, coa_registration_number: str,
                             reader: Reader) -> RecognitionStatusRead | None:
    """Whether a recognition was taken in, and under which ids (audited); None if not (yet) registered."""
    row = (await session.execute(
        select(Person.id, Person.household_id, Person.registered_at)
        .where(Person.coa_registration_number == coa_registration_number)
    )).one_or_none()
    if row is None:
        return None
    await record_reads(session=session, reader=reader, person_ids=[row.id])
    return RecognitionStatusRead(coa_registration_number=coa_registration_number, person_id=row.id,
                                 household_id=row.household_id, registered_at=row.registered_at)
