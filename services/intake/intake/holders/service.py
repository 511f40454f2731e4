"""Keeping intake's copy of who holds which case, from case-plan's events; one rule for a whole fetch."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseManagerJoined, CaseWaitlisted
from verbinding_common.contracts.employment import JobHunterAssigned

from .models import ASSIGNED, CLOSED, CaseHolder, KnownCaseManager, ServingJobHunter

CaseFact = CaseManagerAssigned | CaseWaitlisted | CaseClosed | CaseManagerJoined


async def apply_case_facts(*, session: AsyncSession, facts: Sequence[CaseFact]) -> None:
    """Apply case-plan's facts in their order: who holds each case now, whether it closed, who each manager is (a
    waitlisting holds nobody: it changes nothing here)."""
    holders: dict[Any, dict[str, Any]] = {}
    managers: dict[Any, dict[str, Any]] = {}
    for fact in facts:
        if isinstance(fact, CaseManagerAssigned):
            holders[fact.case_id] = {"case_id": fact.case_id, "person_id": fact.person_id,
                                     "case_manager_id": fact.case_manager_id, "status": ASSIGNED}
        elif isinstance(fact, CaseClosed):
            earlier = holders.get(fact.case_id)
            holders[fact.case_id] = {"case_id": fact.case_id, "person_id": fact.person_id, "status": CLOSED,
                                     "case_manager_id": earlier["case_manager_id"] if earlier else None}
        elif isinstance(fact, CaseManagerJoined):
            managers[fact.case_manager_id] = {"id": fact.case_manager_id, "subject": fact.subject, "team": fact.team}
    if holders:
        statement = pg_insert(CaseHolder)
        await session.execute(statement.on_conflict_do_update(
            index_elements=[CaseHolder.case_id],
            # A closing names no manager: the one who held the case stays on it.
            set_={"status": statement.excluded.status, "updated_at": func.now(),
                  "case_manager_id": func.coalesce(statement.excluded.case_manager_id, CaseHolder.case_manager_id)},
        ), list(holders.values()))
    if managers:
        statement = pg_insert(KnownCaseManager)
        await session.execute(statement.on_conflict_do_update(
            index_elements=[KnownCaseManager.id],
            set_={"subject": statement.excluded.subject, "team": statement.excluded.team},
        ), list(managers.values()))


async def apply_job_hunters(*, session: AsyncSession, assignments: Sequence[JobHunterAssigned]) -> None:
    """Who serves each person now: the last assignment of a fetch per person wins (events of a person come in order,
    on one partition)."""
    latest = {fact.person_id: {"person_id": fact.person_id, "job_hunter_id": fact.job_hunter_id,
                               "subject": fact.job_hunter_subject} for fact in assignments}
    if latest:
        statement = pg_insert(ServingJobHunter)
        await session.execute(statement.on_conflict_do_update(
            index_elements=[ServingJobHunter.person_id],
            set_={"job_hunter_id": statement.excluded.job_hunter_id, "subject": statement.excluded.subject,
                  "updated_at": func.now()},
        ), [latest[person_id] for person_id in sorted(latest, key=str)])
