"""Opening, assigning, waitlisting and closing cases: the rules of the Amsterdam Approach's caseload (docs/domain.md).

Two guards keep the rules under concurrency:
- capacity: `case_manager.active_cases` only moves by a conditional UPDATE (`… WHERE active_cases < capacity`),
  and a CHECK constraint refuses `active_cases > capacity` whatever the code does;
- order: every decision that moves a case onto or off the waitlist (open, close, capacity change, a manager
  joining) first takes one transaction-scoped advisory lock, so a new case can never take a room that was
  freed for a case already waiting, and the waitlist is served strictly in order. Newcomers who arrive while
  someone waits only join the waitlist: they take that lock shared, so two processes' fetches run side by side.
"""

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Protocol
from uuid import UUID, uuid4

from sqlalchemy import Uuid, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseOpened, CaseWaitlisted
from verbinding_common.errors import Conflict, NotFound
from verbinding_common.events import EventContract
from verbinding_common.outbox import add_event, add_events

from ..case_managers.models import CaseManager, CaseManagerRead
from ..employment.service import employment_of
from .models import Case, CaseloadRead, CaseRead, CaseStatus, WaitlistEntryRead

SUPPORT_YEARS = 3
# pg_advisory_xact_lock(namespace, key): the namespace differs from the outbox's per-key locks.
ASSIGNMENT_LOCK = (0x0CA5E, 1)


def support_until(recognised_on: date) -> date:
    """The last day of support: 3 years after status recognition (28 February for a 29 February)."""
    try:
        return recognised_on.replace(year=recognised_on.year + SUPPORT_YEARS)
    except ValueError:
        return recognised_on.replace(year=recognised_on.year + SUPPORT_YEARS, day=28)


async def lock_assignments(*, session: AsyncSession, shared: bool = False) -> None:
    """Serialise waitlist decisions until this transaction ends (see the module docstring). `shared`: for a
    transaction that only adds to the waitlist while someone waits, which takes no room, so such transactions may
    run side by side (two case-plan processes) while every decision that moves a case still excludes them all."""
    lock = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    await session.execute(select(lock(*ASSIGNMENT_LOCK)))


async def _lock_for_newcomers(session: AsyncSession) -> bool:
    """Take the assignment lock for opening cases; True when it is exclusive (newcomers may take room).

    While someone waits, no case manager has room (every path that frees room or adds a manager serves the waitlist
    under the exclusive lock), so newcomers all wait too and take no room: the shared lock is enough, and fetches
    of two processes are not serialised. Seen from before any lock, 'someone waits' is only a hint: under the shared
    lock it is checked again with the room, and if it no longer holds the lock becomes exclusive (two transactions
    doing so at once deadlock; PostgreSQL ends one, which the consumer retries as contention)."""
    if await _someone_waits(session):
        await lock_assignments(session=session, shared=True)
        if await _someone_waits(session) and not await _room_left(session):
            return False
    await lock_assignments(session=session)
    return True


async def _someone_waits(session: AsyncSession) -> bool:
    return await session.scalar(select(Case.id).where(Case.status == CaseStatus.waitlisted).limit(1)) is not None


async def _room_left(session: AsyncSession) -> bool:
    return await session.scalar(
        select(CaseManager.id).where(CaseManager.active_cases < CaseManager.capacity).limit(1)) is not None


class Newcomer(Protocol):
    """A registered person to open a case for (intake's PersonRegistered is one)."""

    @property
    def person_id(self) -> UUID: ...
    @property
    def recognised_on(self) -> date: ...
    @property
    def languages(self) -> list[str]: ...
    @property
    def household_id(self) -> UUID | None: ...


async def open_cases(*, session: AsyncSession, newcomers: Sequence[Newcomer]) -> list[UUID]:
    """Open each newcomer's case, in order, and assign or waitlist it; returns the ids of the cases opened."""
    if not newcomers:
        return []
    # One case per person: a person who has one (or appears twice) gets no second. Someone already waiting goes
    # first: while a case waits, no newcomer takes a room.
    exclusive = await _lock_for_newcomers(session)
    nobody_waits = exclusive and not await _someone_waits(session)
    first_of_each: dict[UUID, Newcomer] = {}
    for newcomer in newcomers:
        first_of_each.setdefault(newcomer.person_id, newcomer)
    rows = [{"id": uuid4(), "person_id": newcomer.person_id, "household_id": newcomer.household_id,
             "recognised_on": newcomer.recognised_on, "support_until": support_until(newcomer.recognised_on),
             "languages": _normalised(newcomer.languages), "status": CaseStatus.waitlisted}
            for newcomer in first_of_each.values()]
    inserted = set(await session.scalars(_INSERT_CASES, {"rows": json.dumps(rows, default=str)}))
    opened = [(row, newcomer) for row, newcomer in zip(rows, first_of_each.values(), strict=True)
              if row["id"] in inserted]
    # Rooms go in the given order, and once one newcomer found none, everyone after them waits too.
    managers = await take_rooms(session=session, languages=[row["languages"] for row, _ in opened]) \
        if nobody_waits and opened else []
    if managers:
        assigned_at = datetime.now(UTC)
        await session.execute(update(Case), [
            {"id": row["id"], "status": CaseStatus.assigned, "case_manager_id": manager_id, "assigned_at": assigned_at}
            for (row, _), manager_id in zip(opened, managers, strict=False)])
    events: list[tuple[EventContract, str, object]] = []
    for position, (row, newcomer) in enumerate(opened):
        case_id, person_id, key = row["id"], row["person_id"], str(row["id"])
        events.append((CaseOpened(case_id=case_id, person_id=person_id, recognised_on=row["recognised_on"],
                                  support_until=row["support_until"]), key, newcomer))
        if position < len(managers):
            events.append((CaseManagerAssigned(case_id=case_id, person_id=person_id,
                                               case_manager_id=managers[position], from_waitlist=False),
                           key, newcomer))
        else:
            events.append((CaseWaitlisted(case_id=case_id, person_id=person_id, recognised_on=row["recognised_on"]),
                           key, newcomer))
    await add_events(session, events)
    if exclusive and len(managers) < len(opened):
        # Once, not after each waitlisting: it only finds room when room appeared while someone waited, and then
        # serves the waitlist, these newcomers among it, in waitlist order.
        await fill_from_waitlist(session=session)
    return [row["id"] for row, _ in opened]


# A fetch's cases in one statement of constant text, typed by the table itself, in the given order (the arrival
# order among equal recognition dates); the ORM's insert of many rows was compiled anew for every fetch.
_CASE_COLUMNS = "id, person_id, household_id, recognised_on, support_until, languages, status"
_INSERT_CASES = text(f"""
    INSERT INTO "case" ({_CASE_COLUMNS})
    SELECT {_CASE_COLUMNS} FROM jsonb_populate_recordset(NULL::"case", CAST(:rows AS jsonb)) WITH ORDINALITY AS r
    ORDER BY r.ordinality
    ON CONFLICT (person_id) DO NOTHING
    RETURNING id
""").columns(id=Uuid)


async def take_rooms(*, session: AsyncSession, languages: Sequence[list[str]]) -> list[UUID]:
    """Rooms for newcomers in the given order (each given by their languages), the same ones `take_room` would give
    them one after another, until the first who finds none; in two statements, not two per newcomer (a fetch of 200
    newcomers held the assignment lock for 400 round trips). Caller holds the assignment lock exclusively, so no
    count moves meanwhile; the conditional update and the CHECK constraint still guard the capacity."""
    rows = (await session.execute(
        select(CaseManager.id, CaseManager.languages, CaseManager.capacity - CaseManager.active_cases,
               CaseManager.joined_seq)
        .where(CaseManager.active_cases < CaseManager.capacity))).all()
    room = {manager_id: left for manager_id, _, left, _ in rows}
    taken: list[UUID] = []
    for wanted in languages:
        spoken = set(_normalised(wanted))
        # take_room's order: a shared language, then the most room, then the oldest manager (lowest joined_seq).
        best = max(((not spoken.isdisjoint(manager_languages or ()), room[manager_id], -joined_seq, manager_id)
                    for manager_id, manager_languages, _, joined_seq in rows if room[manager_id] > 0), default=None)
        if best is None:
            break
        room[best[3]] -= 1
        taken.append(best[3])
    if taken:
        counts = Counter(taken)
        updated = set(await session.scalars(_TAKE_ROOMS, {"ids": list(counts), "counts": list(counts.values())}))
        if updated != set(counts):
            raise RuntimeError("case managers' counts moved under the exclusive assignment lock")
    return taken


# Constant text with arrays: compiled and prepared once whatever the number of managers.
_TAKE_ROOMS = text("""
    UPDATE case_manager AS manager SET active_cases = manager.active_cases + taken.n
    FROM unnest(CAST(:ids AS uuid[]), CAST(:counts AS integer[])) AS taken(id, n)
    WHERE manager.id = taken.id AND manager.active_cases + taken.n <= manager.capacity
    RETURNING manager.id
""").columns(id=Uuid)


async def take_room(*, session: AsyncSession, languages: list[str]) -> UUID | None:
    """Take one place with the best case manager for a person, or None when nobody has room.

    Best: one who shares a language with the person, then the most room, then the oldest manager.
    """
    shares_language = CaseManager.languages.overlap(_normalised(languages))
    for _ in range(5):
        candidate = await session.scalar(
            select(CaseManager.id)
            .where(CaseManager.active_cases < CaseManager.capacity)
            .order_by(shares_language.desc(), (CaseManager.capacity - CaseManager.active_cases).desc(),
                      CaseManager.joined_seq)
            .limit(1)
        )
        if candidate is None:
            return None
        # The capacity guard: only counts up while there is room (another transaction may have taken it).
        taken = await session.scalar(
            update(CaseManager)
            .where(CaseManager.id == candidate, CaseManager.active_cases < CaseManager.capacity)
            .values(active_cases=CaseManager.active_cases + 1)
            .returning(CaseManager.id)
        )
        if taken is not None:
            return taken
    return None


async def fill_from_waitlist(*, session: AsyncSession) -> list[Case]:
    """Assign waitlisted cases, head first, as long as some case manager has room. Caller holds the lock."""
    assigned = []
    while True:
        head = await session.scalar(
            select(Case).where(Case.status == CaseStatus.waitlisted)
            .order_by(Case.recognised_on, Case.arrival_seq).limit(1)
        )
        if head is None:
            break
        manager_id = await take_room(session=session, languages=head.languages)
        if manager_id is None:
            break
        await _assign(session=session, case=head, case_manager_id=manager_id, from_waitlist=True)
        assigned.append(head)
    return assigned


async def close_case(*, session: AsyncSession, case_id: UUID, reason: str) -> Case:
    """Close a case; the place it frees goes at once to the head of the waitlist."""
    await lock_assignments(session=session)
    case = await session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case.status == CaseStatus.closed:
        raise Conflict(f"case {case_id} is already closed")
    if case.status == CaseStatus.assigned:
        await session.execute(
            update(CaseManager).where(CaseManager.id == case.case_manager_id)
            .values(active_cases=CaseManager.active_cases - 1)
        )
    case.status = CaseStatus.closed
    case.closed_at = datetime.now(UTC)
    case.close_reason = reason
    await session.flush()
    await add_event(session, CaseClosed(case_id=case.id, person_id=case.person_id, closed_on=case.closed_at.date(),
                                        reason=reason), key=str(case.id))
    await fill_from_waitlist(session=session)
    return case


async def get_case(*, session: AsyncSession, case_id: UUID) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


async def get_case_of_person(*, session: AsyncSession, person_id: UUID) -> Case:
    case = await session.scalar(select(Case).where(Case.person_id == person_id))
    if case is None:
        raise NotFound(f"no case for person {person_id}")
    return case


async def caseload(*, session: AsyncSession, manager: CaseManager) -> CaseloadRead:
    """The cases a case manager holds now (assigned, not closed), oldest assignment first."""
    held = await session.scalars(
        select(Case).where(Case.case_manager_id == manager.id, Case.status == CaseStatus.assigned)
        .order_by(Case.assigned_at, Case.arrival_seq)
    )
    return CaseloadRead(case_manager=CaseManagerRead.of(manager),
                        cases=[await describe(session=session, case=case) for case in held])


async def waitlist(*, session: AsyncSession) -> list[WaitlistEntryRead]:
    """The waitlist in the order it is served."""
    result = await session.scalars(
        select(Case).where(Case.status == CaseStatus.waitlisted).order_by(Case.recognised_on, Case.arrival_seq)
    )
    return [WaitlistEntryRead(case_id=c.id, person_id=c.person_id, recognised_on=c.recognised_on, position=n)
            for n, c in enumerate(result, start=1)]


async def describe(*, session: AsyncSession, case: Case) -> CaseRead:
    """The case as the API shows it, with its place on the waitlist when it waits."""
    position = None
    if case.status == CaseStatus.waitlisted:
        ahead = await session.scalar(
            select(func.count()).select_from(Case).where(
                Case.status == CaseStatus.waitlisted,
                tuple_(Case.recognised_on, Case.arrival_seq) < tuple_(case.recognised_on, case.arrival_seq))
        )
        position = (ahead or 0) + 1
    return CaseRead(case_id=case.id, person_id=case.person_id, status=CaseStatus(case.status),
                    case_manager_id=case.case_manager_id, recognised_on=case.recognised_on, opened_at=case.opened_at,
                    support_until=case.support_until, closed_at=case.closed_at, close_reason=case.close_reason,
                    waitlist_position=position,
                    employment=await employment_of(session=session, person_id=case.person_id,
                                                   case_open=case.status != CaseStatus.closed, today=date.today()))


async def _assign(*, session: AsyncSession, case: Case, case_manager_id: UUID, from_waitlist: bool) -> None:
    case.status = CaseStatus.assigned
    case.case_manager_id = case_manager_id
    case.assigned_at = datetime.now(UTC)
    await session.flush()
    await add_event(session, CaseManagerAssigned(case_id=case.id, person_id=case.person_id,
                                                 case_manager_id=case_manager_id, from_waitlist=from_waitlist),
                    key=str(case.id))


def _normalised(languages: list[str]) -> list[str]:
    return list(dict.fromkeys(code.strip().lower() for code in languages if code.strip()))
