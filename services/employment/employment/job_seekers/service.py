"""Learning job seekers from events, job hunters, assigning job seekers to them, and who may see which job seeker."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import TextClause, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.audit import AccessAudit
from verbinding_common.auth import Identity, Role
from verbinding_common.contracts.employment import JobHunterAssigned
from verbinding_common.errors import Conflict, NotFound
from verbinding_common.outbox import add_events

from .models import CaseManager, JobHunter, JobHunterRead, JobSeeker


async def learn(*, session: AsyncSession, person_id: UUID, **known: Any) -> None:
    """Create the job seeker if new and set what an event told about them (events may come in any order)."""
    await learn_many(session=session, facts=[(person_id, known)])


async def learn_many(*, session: AsyncSession, facts: Sequence[tuple[UUID, dict[str, Any]]]) -> None:
    """`learn` for each (person id, what an event told about them), in their order: a later fact's value wins.

    One statement per set of fields told (a fetch has a few): the facts of a person merged in order, rows in
    person order (transactions lock the rows they share in the same order), typed by the table itself."""
    merged: dict[UUID, dict[str, Any]] = {}
    for person_id, known in facts:
        merged.setdefault(person_id, {}).update(known)
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for person_id in sorted(merged):
        known = merged[person_id]
        by_fields.setdefault(tuple(sorted(known)), []).append({**known, "person_id": person_id})
    for fields, rows in by_fields.items():
        await session.execute(_learn_statement(fields), {"rows": json.dumps(rows, default=str)})


@functools.cache
def _learn_statement(fields: tuple[str, ...]) -> TextClause:
    columns = JobSeeker.__table__.c
    unknown = [name for name in fields if name not in columns or name == "person_id"]
    if unknown:
        raise ValueError(f"not a job seeker's field: {unknown}")
    defaults = {"languages": "'{}'", "hours_wanted": "32"}
    inserted = ["person_id", *fields, *(name for name in defaults if name not in fields)]
    values = ["person_id", *fields, *(value for name, value in defaults.items() if name not in fields)]
    update = (f"DO UPDATE SET {', '.join(f'{name} = excluded.{name}' for name in fields)}" if fields
              else "DO NOTHING")
    return text(f"""
        INSERT INTO job_seeker ({", ".join(inserted)})
        SELECT {", ".join(values)} FROM jsonb_populate_recordset(NULL::job_seeker, CAST(:rows AS jsonb))
        ON CONFLICT (person_id) {update}
    """)


async def case_manager_joined(*, session: AsyncSession, case_manager_id: UUID, subject: str, team: str | None) -> None:
    """Remember a case manager's login, to let them read the employment of the persons whose case they hold."""
    await session.execute(pg_insert(CaseManager).values(id=case_manager_id, subject=subject, team=team)
                          .on_conflict_do_update(index_elements=[CaseManager.id], set_={"subject": subject,
                                                                                       "team": team}))


async def add_job_hunter(*, session: AsyncSession, subject: str, name: str) -> JobHunter:
    """Add a job hunter; a subject can be added once."""
    hunter_id = await session.scalar(
        pg_insert(JobHunter).values(subject=subject, name=name)
        .on_conflict_do_nothing(index_elements=[JobHunter.subject]).returning(JobHunter.id))
    if hunter_id is None:
        raise Conflict(f"job hunter {subject} exists already")
    return await session.get_one(JobHunter, hunter_id)


async def job_hunters(*, session: AsyncSession) -> list[JobHunterRead]:
    """Every job hunter with the number of job seekers they coach now (open cases)."""
    counts = (select(JobSeeker.job_hunter_id, func.count().label("n")).where(JobSeeker.case_closed_on.is_(None))
              .group_by(JobSeeker.job_hunter_id).subquery())
    rows = await session.execute(select(JobHunter, func.coalesce(counts.c.n, 0))
                                 .outerjoin(counts, counts.c.job_hunter_id == JobHunter.id)
                                 .order_by(JobHunter.joined_seq))
    return [JobHunterRead.of(hunter, n) for hunter, n in rows]


async def assign_job_hunter(*, session: AsyncSession, person_id: UUID, job_hunter_id: UUID | None) -> JobSeeker:
    """Give a job seeker to a job hunter: the one named, or else the one with the fewest job seekers."""
    seeker = await get_job_seeker(session=session, person_id=person_id)
    if job_hunter_id is None:
        load = (select(func.count()).select_from(JobSeeker)
                .where(JobSeeker.job_hunter_id == JobHunter.id, JobSeeker.case_closed_on.is_(None))
                .scalar_subquery())
        job_hunter_id = await session.scalar(select(JobHunter.id).order_by(load, JobHunter.joined_seq).limit(1))
        if job_hunter_id is None:
            raise Conflict("there is no job hunter yet")
    hunter = await session.get(JobHunter, job_hunter_id)
    if hunter is None:
        raise NotFound(f"no job hunter {job_hunter_id}")
    seeker.job_hunter_id = job_hunter_id
    await session.flush()
    await _announce(session=session, hunter=hunter, person_ids=[person_id])
    return seeker


async def reassign(*, session: AsyncSession, job_hunter_id: UUID, person_ids: Sequence[UUID],
                   from_job_hunter_id: UUID | None) -> int:
    """Give many job seekers to one job hunter at once, all or none: those named (each must exist), or every one of
    another job hunter. The number given."""
    hunter = await session.get(JobHunter, job_hunter_id)
    if hunter is None:
        raise NotFound(f"no job hunter {job_hunter_id}")
    if from_job_hunter_id is not None:
        moved = (await session.scalars(update(JobSeeker).where(JobSeeker.job_hunter_id == from_job_hunter_id)
                                       .values(job_hunter_id=job_hunter_id).returning(JobSeeker.person_id))).all()
        await _announce(session=session, hunter=hunter, person_ids=moved)
        return len(moved)
    wanted = set(person_ids)
    known = set((await session.scalars(select(JobSeeker.person_id).where(
        JobSeeker.person_id.in_(wanted), JobSeeker.recognised_on.is_not(None)))).all())
    if unknown := sorted(wanted - known, key=str):
        raise NotFound(f"no job seeker {unknown[0]}" + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    await session.execute(update(JobSeeker).where(JobSeeker.person_id.in_(wanted)).values(job_hunter_id=job_hunter_id))
    await _announce(session=session, hunter=hunter, person_ids=wanted)
    return len(wanted)


async def _announce(*, session: AsyncSession, hunter: JobHunter, person_ids: Iterable[UUID]) -> None:
    """Tell intake who serves these persons now (ids and the login only), in the assignment's transaction: intake
    shows a person's working name to their own job hunter alone, and learns who that is from this."""
    await add_events(session, [(JobHunterAssigned(person_id=person_id, job_hunter_id=hunter.id,
                                                  job_hunter_subject=hunter.subject), str(person_id))
                               for person_id in sorted(person_ids, key=str)])


async def update_job_seeker(*, session: AsyncSession, seeker: JobSeeker, hours_wanted: int | None,
                            district: str | None) -> JobSeeker:
    """Record what the job seeker told their job hunter: the hours a week they want to work, where they live."""
    if hours_wanted is not None:
        seeker.hours_wanted = hours_wanted
    if district is not None:
        seeker.district = district
    await session.flush()
    return seeker


async def get_job_seeker(*, session: AsyncSession, person_id: UUID) -> JobSeeker:
    """A registered job seeker, or NotFound."""
    seeker = await session.get(JobSeeker, person_id)
    if seeker is None or seeker.recognised_on is None:
        raise NotFound(f"no job seeker {person_id}")
    return seeker


async def authorise_job_seeker(*, session: AsyncSession, audit: AccessAudit, person_id: UUID) -> JobSeeker:
    """The job seeker if the caller may see them: a team lead, their own job hunter, or the case manager holding
    their open case (the routes allow that role only where the overview reads). Someone else's job seeker answers
    exactly like one that does not exist."""
    try:
        seeker = await get_job_seeker(session=session, person_id=person_id)
    except NotFound:
        await audit.refused(kind="person", record_id=person_id, outcome="not_found")
        raise
    if await _may_see(session=session, seeker=seeker, identity=audit.caller):
        await audit.allowed(session, kind="person", record_ids=[person_id])
        return seeker
    await audit.refused(kind="person", record_id=person_id)
    raise NotFound(f"no job seeker {person_id}")


async def authorise_record(*, session: AsyncSession, audit: AccessAudit, kind: str, record_id: UUID,
                           person_id: UUID | None) -> JobSeeker:
    """The job seeker a record of theirs (a placement, a retention check) belongs to, if the caller may see them. A
    record of someone else's job seeker answers exactly like one that does not exist: "no <kind> <id>", naming
    neither the person nor anything else of theirs."""
    missing = NotFound(f"no {kind.replace('_', ' ')} {record_id}")
    seeker = await session.get(JobSeeker, person_id) if person_id is not None else None
    if seeker is None or seeker.recognised_on is None:
        await audit.refused(kind=kind, record_id=record_id, outcome="not_found")
        raise missing
    if await _may_see(session=session, seeker=seeker, identity=audit.caller):
        await audit.allowed(session, kind="person", record_ids=[seeker.person_id])
        return seeker
    await audit.refused(kind=kind, record_id=record_id)
    raise missing


async def _may_see(*, session: AsyncSession, seeker: JobSeeker, identity: Identity) -> bool:
    if Role.team_lead in identity.roles:
        return True
    hunter = await job_hunter_of(session=session, identity=identity)
    if hunter is not None and seeker.job_hunter_id == hunter.id:
        return True
    if Role.case_manager in identity.roles and seeker.case_closed_on is None and seeker.case_manager_id is not None:
        holder = await session.scalar(select(CaseManager.subject).where(CaseManager.id == seeker.case_manager_id))
        return holder == identity.subject
    return False


async def job_hunter_of(*, session: AsyncSession, identity: Identity) -> JobHunter | None:
    """The job hunter record of the caller, if they are one."""
    if Role.job_hunter not in identity.roles:
        return None
    return await session.scalar(select(JobHunter).where(JobHunter.subject == identity.subject))


async def job_seekers(*, session: AsyncSession, identity: Identity) -> Sequence[JobSeeker]:
    """A job hunter's own job seekers with an open case; for a team lead, every one, oldest recognition first."""
    query = select(JobSeeker).where(JobSeeker.recognised_on.is_not(None), JobSeeker.case_closed_on.is_(None))
    if Role.team_lead not in identity.roles:
        hunter = await job_hunter_of(session=session, identity=identity)
        if hunter is None:
            return []
        query = query.where(JobSeeker.job_hunter_id == hunter.id)
    return (await session.scalars(query.order_by(JobSeeker.recognised_on, JobSeeker.person_id))).all()
