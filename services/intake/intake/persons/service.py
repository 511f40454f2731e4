"""Registering recognised refugees (once per COA number) and reading their records."""

import json
import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.contracts.intake import PersonRegistered, RejectionReason
from verbinding_common.outbox import add_events

from ..households.service import create_households
from ..interviews.models import Interview
from ..privacy.tombstones import erased_numbers
from ..recognitions.service import note_registrations, reject_recognitions, rejection_reason
from .models import IN_INTAKE, Person

# pg_advisory_xact_lock(ns, hashtext(coa number)): recognitions naming the same COA numbers register one at a time.
COA_LOCK_NAMESPACE = 0x1A7E


async def register_recognised_persons(*, session: AsyncSession, recognitions: Sequence[StatusRecognised],
                                      pepper: bytes) -> list[UUID]:
    """Take recognised refugees into intake, once per COA number, in order, and reject (announced, in the same
    transaction) those that break a rule intake checks or name a person erased lately (their COA numbers' hashes,
    under `pepper`); returns the new persons' ids."""
    if not recognitions:
        return []
    own_numbers = {recognition.coa_registration_number for recognition in recognitions}
    partner_numbers = {recognition.family_reunification_with for recognition in recognitions} - {None}
    await _lock_coa_numbers(session, own_numbers | partner_numbers)
    # A reunified partner joins the household of the partner they name, else that of someone who named them, else
    # a new one. Both maps grow as the list is walked: someone registered earlier in it counts as known.
    household_of = await _households_of(session=session, numbers=own_numbers | partner_numbers)
    named_by = await _households_naming(session=session, numbers=own_numbers)
    erased = await erased_numbers(session=session, numbers=own_numbers - household_of.keys(), pepper=pepper)
    new_households: list[UUID] = []
    registered: list[tuple[dict[str, Any], StatusRecognised]] = []
    rejected: list[tuple[str, RejectionReason, object]] = []
    for recognition in recognitions:
        own_number, partner_number = recognition.coa_registration_number, recognition.family_reunification_with
        if own_number in household_of:
            continue
        if own_number in erased:
            rejected.append((own_number, RejectionReason.erased, recognition))
            continue
        if (reason := rejection_reason(recognition)) is not None:
            rejected.append((own_number, reason, recognition))
            continue
        household_id = (household_of.get(partner_number) if partner_number else None) or named_by.get(own_number)
        if household_id is None:
            household_id = uuid.uuid4()
            new_households.append(household_id)
        household_of[own_number] = household_id
        if partner_number is not None:
            named_by.setdefault(partner_number, household_id)
        registered.append((_person_row(recognition, household_id=household_id), recognition))
    await reject_recognitions(session=session, rejected=rejected)
    if not registered:
        return []
    await create_households(session=session, household_ids=new_households)
    await session.execute(_INSERT_PERSONS, {"rows": json.dumps([row for row, _ in registered], default=str)})
    # The unique COA number is the last line of defence behind the advisory locks; if it ever trips, the consumer
    # applies the events again one by one and finds the person registered.
    await add_events(session, [(_registration_of(row), str(row["id"]), recognition)
                               for row, recognition in registered])
    await note_registrations(session=session, registered=[(row["coa_registration_number"], row["id"])
                                                          for row, _ in registered])
    return [row["id"] for row, _ in registered]


# One statement of constant text for a fetch's persons, typed by the table itself (row by row, each was an
# execution of its own).
_PERSON_COLUMNS = ("id, coa_registration_number, family_name, given_names, date_of_birth, gender, country_of_origin, "
                   "languages, reception_centre, recognised_on, household_id, family_reunification, "
                   "family_reunification_with, status")
_INSERT_PERSONS = text(f"""
    INSERT INTO person ({_PERSON_COLUMNS})
    SELECT {_PERSON_COLUMNS} FROM jsonb_populate_recordset(NULL::person, CAST(:rows AS jsonb))
""")


async def reject_broken_recognitions(*, session: AsyncSession, broken: Sequence[tuple[str, object]]) -> None:
    """Reject each (COA number, its recognition) that breaks the recognition's contract, unless the number is
    already registered (then it changes nothing, as any recognition of a known number)."""
    numbers = {number for number, _ in broken}
    if not numbers:
        return
    await _lock_coa_numbers(session, numbers)
    known = await _households_of(session=session, numbers=numbers)
    await reject_recognitions(session=session, rejected=[
        (number, RejectionReason.breaks_contract, cause) for number, cause in broken if number not in known])


async def _lock_coa_numbers(session: AsyncSession, numbers: set[str]) -> None:
    # Sorted, so two transactions naming the same numbers lock them in the same order and cannot deadlock.
    await session.execute(
        text("SELECT count(pg_advisory_xact_lock(:namespace, hashtext(number)))"
             " FROM unnest(CAST(:numbers AS text[])) AS number"),
        {"namespace": COA_LOCK_NAMESPACE, "numbers": sorted(numbers)})


async def _households_of(*, session: AsyncSession, numbers: set[str]) -> dict[str, UUID]:
    """The household of each known person among these COA numbers."""
    rows = await session.execute(select(Person.coa_registration_number, Person.household_id)
                                 .where(Person.coa_registration_number.in_(numbers)))
    return {number: household_id for number, household_id in rows}


async def _households_naming(*, session: AsyncSession, numbers: set[str]) -> dict[str, UUID]:
    """Per COA number, the household of the first registered person who named it as their partner."""
    rows = await session.execute(
        select(Person.family_reunification_with, Person.household_id)
        .where(Person.family_reunification_with.in_(numbers))
        .ext(distinct_on(Person.family_reunification_with))
        .order_by(Person.family_reunification_with, Person.registered_at, Person.id))
    return {number: household_id for number, household_id in rows}


def _person_row(recognition: StatusRecognised, *, household_id: UUID) -> dict[str, Any]:
    partner_number = recognition.family_reunification_with
    return {
        "id": uuid.uuid4(),
        "coa_registration_number": recognition.coa_registration_number,
        "family_name": recognition.family_name,
        "given_names": recognition.given_names,
        "date_of_birth": recognition.date_of_birth,
        "gender": recognition.gender,
        "country_of_origin": recognition.country_of_origin,
        "languages": list(recognition.languages),
        "reception_centre": recognition.reception_centre,
        "recognised_on": recognition.recognised_on,
        "household_id": household_id,
        "family_reunification": partner_number is not None,
        "family_reunification_with": partner_number,
        "status": IN_INTAKE,
    }


def _registration_of(row: dict[str, Any]) -> PersonRegistered:
    """What others learn of a new person: no name, birth date or COA number."""
    return PersonRegistered(person_id=row["id"], household_id=row["household_id"], recognised_on=row["recognised_on"],
                            gender=row["gender"], languages=row["languages"],
                            family_reunification=row["family_reunification"])


WITH_INTERVIEW = selectinload(Person.interview).selectinload(Interview.consents)


async def read_person(*, session: AsyncSession, person_id: UUID) -> Person | None:
    """The person's record with their interview; None if unknown."""
    return await session.scalar(select(Person).where(Person.id == person_id).options(WITH_INTERVIEW))


async def find_persons_by_coa_number(*, session: AsyncSession, coa_registration_number: str) -> list[Person]:
    """The person (0 or 1) registered under a COA number."""
    return list((await session.scalars(
        select(Person).where(Person.coa_registration_number == coa_registration_number).options(WITH_INTERVIEW)
    )).all())
