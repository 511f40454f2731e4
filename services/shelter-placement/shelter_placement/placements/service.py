"""Placing residents: a bed when one is free in the pool, else the waitlist; leaving; warnings; case managers.

A pool is one operator NGO's shelters of one programme. Every decision that moves a placement onto the pool's
waitlist or off it into a bed first takes the pool's transaction-scoped advisory lock, so a new request never takes
a bed that was freed for someone already waiting, and the waitlist is served strictly in its order: vulnerability
priority (residents.models), then request time. A new request takes it inside the database function
`place_or_waitlist` (migration 0002, docs/decisions/0009), for one round trip. The capacity guard itself is the
conditional update of shelters.capacity (and the same update in the function). Withdrawing a waiting request
needs no pool lock (see `withdraw`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from sqlalchemy import Date, Uuid, bindparam, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.audit import AccessAudit
from verbinding_common.contracts.shelter import (
    PlacementEnded,
    PlacementStarted,
    PlacementWarned,
    Programme,
    StayOutcome,
)
from verbinding_common.errors import Conflict
from verbinding_common.outbox import add_event, add_events

from ..access import Scope, audited
from ..residents.models import Resident, Vulnerability
from ..shelters.capacity import capacity_changed, free_bed, take_bed
from ..shelters.models import Shelter
from .models import AssignmentDelay, Placement, PlacementRead, PlacementStatus, StayWarning
from .stays import StayRules, stay_end, warning_due

# pg_advisory_xact_lock(namespace, hashtext(pool)): the namespace differs from the outbox's per-key locks.
POOL_LOCK_NAMESPACE = 0x5E17


async def lock_pool(*, session: AsyncSession, programme: str, operator: str) -> None:
    """Serialise the pool's waitlist decisions until this transaction ends."""
    await session.execute(select(func.pg_advisory_xact_lock(POOL_LOCK_NAMESPACE,
                                                            func.hashtext(f"{programme}/{operator}"))))


async def request_placement(*, session: AsyncSession, resident: Resident, rules: StayRules) -> PlacementRead:
    """Place the resident in a free bed of their operator's open shelters in their programme, or waitlist them.

    The pool's lock is held as briefly as the rule allows: everything that can be read or computed is done before
    it, then one call of the database function `place_or_waitlist` (migration 0002) takes the lock and decides,
    and the caller commits. A placement's two events are staged by one more statement under the lock. A resident
    who already has a bed or a place on the waitlist is refused by the function (Conflict naming the placement);
    that check is not repeated before the lock, since the round trip would cost every request more than the
    short hold costs a retry."""
    started_on = datetime.now(UTC).date()
    ends_on = stay_end(programme=Programme(resident.programme), started_on=started_on, rules=rules)
    decided = (await session.execute(PLACE_OR_WAITLIST, {
        "namespace": POOL_LOCK_NAMESPACE, "placement_id": uuid4(), "resident_id": resident.id,
        "programme": resident.programme, "operator": resident.operator,
        "priority": Vulnerability(resident.vulnerability).priority, "started_on": started_on, "ends_on": ends_on,
        "warning_due": warning_due(ends_on=ends_on, started_on=started_on, rules=rules)})).one()
    if decided.existing_id is not None:  # a request for the same resident got in first
        raise _already_requested(decided.existing_id)
    read = PlacementRead(
        placement_id=decided.id, resident_id=resident.id, programme=Programme(resident.programme),
        operator=resident.operator, status=PlacementStatus(decided.status), shelter_id=decided.shelter_id,
        requested_at=decided.requested_at, started_on=started_on if decided.shelter_id else None,
        ends_on=ends_on if decided.shelter_id else None, left_at=None, outcome=None, case_manager=None,
        waitlist_position=None if decided.shelter_id else decided.waiting_ahead + 1)
    if decided.shelter_id is not None:
        await add_events(session, [
            (capacity_changed(shelter_id=decided.shelter_id, sequence=decided.sequence, name=decided.shelter_name,
                              programme=resident.programme, neighbourhood=decided.neighbourhood,
                              operator=resident.operator, status=decided.shelter_status, capacity=decided.capacity,
                              occupied=decided.occupied), str(decided.shelter_id)),
            (PlacementStarted(placement_id=decided.id, resident_id=resident.id, shelter_id=decided.shelter_id,
                              programme=Programme(resident.programme), started_on=started_on, ends_on=ends_on,
                              from_waitlist=False), str(decided.id))])
    return read


# Takes the pool's lock, then decides with fresh snapshots; see migration 0002 for the function's body.
PLACE_OR_WAITLIST = text(
    "SELECT * FROM place_or_waitlist(:namespace, :placement_id, :resident_id, :programme, :operator, "
    "CAST(:priority AS smallint), :started_on, :ends_on, :warning_due)"
).bindparams(bindparam("placement_id", type_=Uuid), bindparam("resident_id", type_=Uuid),
             bindparam("started_on", type_=Date), bindparam("ends_on", type_=Date),
             bindparam("warning_due", type_=Date))


def _already_requested(placement_id: UUID) -> Conflict:
    return Conflict(f"the resident already has placement {placement_id} (a bed or a place on the waitlist)",
                    existing_id=placement_id, location=f"placements/{placement_id}")


async def fill_from_waitlist(*, session: AsyncSession, programme: str, operator: str, rules: StayRules) -> int:
    """Place waitlisted residents of the pool, head first, while its open shelters have beds. Caller holds the
    pool's lock. Returns how many were placed."""
    placed = 0
    while True:
        head = await session.scalar(
            select(Placement).where(Placement.status == PlacementStatus.waitlisted, Placement.programme == programme,
                                    Placement.operator == operator)
            .order_by(Placement.priority, Placement.request_seq).limit(1).with_for_update())
        if head is None:
            return placed
        shelter = await take_bed(session=session, programme=programme, operator=operator)
        if shelter is None:
            return placed
        await _start(session=session, placement=head, shelter=shelter, rules=rules)
        placed += 1


async def leave(*, session: AsyncSession, placement_id: UUID, scope: Scope, outcome: StayOutcome,
                rules: StayRules, audit: AccessAudit | None = None) -> Placement:
    """End a stay with its outcome; the bed goes at once to the head of the pool's waitlist."""
    placement = await get_placement(session=session, placement_id=placement_id, scope=scope, audit=audit)
    await lock_pool(session=session, programme=placement.programme, operator=placement.operator)
    await session.refresh(placement, with_for_update=True)
    if placement.status != PlacementStatus.placed:
        hint = ": a waiting request is withdrawn instead" if placement.status == PlacementStatus.waitlisted else ""
        raise Conflict(f"placement {placement_id} is {placement.status}, not placed{hint}",
                       current_status=placement.status)
    assert placement.shelter_id is not None and placement.ends_on is not None
    placement.status = PlacementStatus.ended
    placement.left_at = datetime.now(UTC)
    placement.outcome = outcome.value
    await session.flush()
    await free_bed(session=session, shelter_id=placement.shelter_id)
    await add_event(session, PlacementEnded(
        placement_id=placement.id, resident_id=placement.resident_id, shelter_id=placement.shelter_id,
        programme=Programme(placement.programme), ended_on=placement.left_at.date(), outcome=outcome),
        key=str(placement.id))
    await fill_from_waitlist(session=session, programme=placement.programme, operator=placement.operator,
                             rules=rules)
    return placement


async def withdraw(*, session: AsyncSession, placement_id: UUID, scope: Scope,
                   audit: AccessAudit | None = None) -> Placement:
    """Take a waiting request off its pool's waitlist: everyone behind it moves up one place. Only a waiting
    request can be withdrawn; a placed resident leaves instead (Conflict naming the placement's status).

    No pool lock: the conditional update and the row lock it takes decide the race with a bed coming free (the
    waitlist's head is claimed FOR UPDATE; whichever commits first wins, the other sees the new status)."""
    placement = await get_placement(session=session, placement_id=placement_id, scope=scope, audit=audit)
    withdrawn = await session.scalar(
        update(Placement).where(Placement.id == placement_id, Placement.status == PlacementStatus.waitlisted)
        .values(status=PlacementStatus.withdrawn, withdrawn_at=func.clock_timestamp())
        .returning(Placement).execution_options(populate_existing=True))
    if withdrawn is None:
        await session.refresh(placement)
        hint = ": the resident leaves instead" if placement.status == PlacementStatus.placed else ""
        raise Conflict(f"placement {placement_id} is {placement.status}; only a waiting request can be withdrawn"
                       f"{hint}", current_status=placement.status)
    return withdrawn


async def list_placements(*, session: AsyncSession, scope: Scope, status: PlacementStatus | None = None,
                          shelter_id: UUID | None = None, limit: int = 100, offset: int = 0,
                          audit: AccessAudit | None = None) -> list[PlacementRead]:
    """The placements the caller may see (audited), in request order; waiting ones with their waitlist place."""
    in_scope = scope.where(Placement.operator, Placement.programme)
    position = (
        select(Placement.id, func.row_number().over(partition_by=(Placement.programme, Placement.operator),
                                                    order_by=(Placement.priority, Placement.request_seq))
               .label("position"))
        .where(Placement.status == PlacementStatus.waitlisted, in_scope).subquery())
    query = (select(Placement, position.c.position).outerjoin(position, position.c.id == Placement.id)
             .where(in_scope).order_by(Placement.request_seq).limit(limit).offset(offset))
    if status is not None:
        query = query.where(Placement.status == status)
    if shelter_id is not None:
        query = query.where(Placement.shelter_id == shelter_id)
    rows = (await session.execute(query)).all()
    if rows and audit is not None:
        await audit.allowed(session, kind="placement", record_ids=[placement.id for placement, _ in rows])
    return [PlacementRead.of(placement, position=position) for placement, position in rows]


async def assign_case_manager(*, session: AsyncSession, placement_id: UUID, scope: Scope, case_manager: str,
                              audit: AccessAudit | None = None) -> Placement:
    """Assign the programme case manager of a placed resident; the first assignment's time is kept."""
    placement = await get_placement(session=session, placement_id=placement_id, scope=scope, audit=audit)
    if placement.status != PlacementStatus.placed:
        raise Conflict(f"placement {placement_id} is {placement.status}: a case manager follows a placement",
                       current_status=placement.status)
    placement.case_manager = case_manager
    placement.case_manager_assigned_at = placement.case_manager_assigned_at or datetime.now(UTC)
    await session.flush()
    return placement


async def fire_due_warnings(*, session: AsyncSession, today: date, limit: int = 500) -> int:
    """Fire every stay warning due by `today` that has not fired: once, also with several replicas or after a
    restart (the row is marked in the transaction that stages its event, and claimed with SKIP LOCKED)."""
    due = (await session.execute(
        select(StayWarning, Placement).join(Placement, Placement.id == StayWarning.placement_id)
        .where(StayWarning.fired_at.is_(None), StayWarning.due_on <= today,
               Placement.status == PlacementStatus.placed)
        .order_by(StayWarning.due_on).limit(limit)
        .with_for_update(of=StayWarning, skip_locked=True))).all()
    if not due:
        return 0
    fired_at = datetime.now(UTC)
    await session.execute(update(StayWarning), [{"placement_id": warning.placement_id, "fired_at": fired_at}
                                                for warning, _ in due])
    await add_events(session, [
        (PlacementWarned(placement_id=placement.id, resident_id=placement.resident_id,
                         shelter_id=placement.shelter_id, programme=Programme(placement.programme),
                         ends_on=placement.ends_on), str(placement.id), None)
        for _, placement in due])
    return len(due)


async def get_placement(*, session: AsyncSession, placement_id: UUID, scope: Scope,
                        audit: AccessAudit | None = None) -> Placement:
    """The placement, if the caller's scope covers it (audited); NotFound alike for "not yours" and "no such
    placement"."""
    placement = await session.get(Placement, placement_id)
    await audited(session=session, audit=audit, kind="placement", record_id=placement_id, found=placement,
                  allowed=placement is not None and scope.covers(operator=placement.operator,
                                                                 programme=placement.programme))
    assert placement is not None
    return placement


async def describe(*, session: AsyncSession, placement: Placement) -> PlacementRead:
    """The placement as the API shows it, with its place on the pool's waitlist when it waits."""
    position = None
    if placement.status == PlacementStatus.waitlisted:
        ahead = await session.scalar(select(func.count()).select_from(Placement).where(
            Placement.status == PlacementStatus.waitlisted, Placement.programme == placement.programme,
            Placement.operator == placement.operator,
            tuple_(Placement.priority, Placement.request_seq) < tuple_(placement.priority, placement.request_seq)))
        position = (ahead or 0) + 1
    return PlacementRead.of(placement, position=position)


async def waitlist(*, session: AsyncSession, scope: Scope) -> list[PlacementRead]:
    """The waitlists the caller may see, each pool in the order it is served."""
    waiting = await session.scalars(
        select(Placement).where(Placement.status == PlacementStatus.waitlisted,
                                scope.where(Placement.operator, Placement.programme))
        .order_by(Placement.programme, Placement.operator, Placement.priority, Placement.request_seq))
    result, position, pool = [], 0, None
    for placement in waiting:
        position = position + 1 if pool == (placement.programme, placement.operator) else 1
        pool = (placement.programme, placement.operator)
        result.append(PlacementRead.of(placement, position=position))
    return result


async def assignment_delays(*, session: AsyncSession, scope: Scope, now: datetime | None = None
                            ) -> list[AssignmentDelay]:
    """Per shelter (and so per programme): hours from placement to an assigned case manager (median, 90th
    percentile) and how long the longest-waiting resident without one has waited now."""
    now = now or datetime.now(UTC)
    hours = func.extract("epoch", Placement.case_manager_assigned_at - Placement.placed_at) / 3600
    waiting = Placement.case_manager_assigned_at.is_(None) & (Placement.status == PlacementStatus.placed)
    rows = (await session.execute(
        select(Shelter.id, Shelter.name, Shelter.programme,
               func.count(Placement.case_manager_assigned_at),
               func.percentile_cont(0.5).within_group(hours),
               func.percentile_cont(0.9).within_group(hours),
               func.count().filter(waiting),
               func.max(func.extract("epoch", now - Placement.placed_at) / 3600).filter(waiting))
        .join(Placement, Placement.shelter_id == Shelter.id)
        .where(scope.where(Shelter.operator, Shelter.programme))
        .group_by(Shelter.id).order_by(Shelter.programme, Shelter.name))).all()
    return [AssignmentDelay(shelter_id=row[0], shelter_name=row[1], programme=Programme(row[2]), assigned=row[3],
                            median_hours=_rounded(row[4]), p90_hours=_rounded(row[5]), waiting_now=row[6],
                            longest_waiting_hours=_rounded(row[7])) for row in rows]


async def _start(*, session: AsyncSession, placement: Placement, shelter: Shelter, rules: StayRules) -> None:
    """Place a resident who waited (a new request that finds a bed is placed by `place_or_waitlist`)."""
    started_on = datetime.now(UTC).date()
    placement.status = PlacementStatus.placed
    placement.shelter_id = shelter.id
    placement.placed_at = datetime.now(UTC)
    placement.started_on = started_on
    placement.ends_on = stay_end(programme=Programme(placement.programme), started_on=started_on, rules=rules)
    session.add(StayWarning(placement_id=placement.id,
                            due_on=warning_due(ends_on=placement.ends_on, started_on=started_on, rules=rules)))
    await session.flush()
    await add_event(session, PlacementStarted(
        placement_id=placement.id, resident_id=placement.resident_id, shelter_id=shelter.id,
        programme=Programme(placement.programme), started_on=started_on, ends_on=placement.ends_on,
        from_waitlist=True), key=str(placement.id))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)
