"""Erasure in case-plan: intake's announcement erases a person's case, plans and placements (once, in any order),
keeping only anonymous caseload counts; a closed case goes by case-plan's own rule at the latest; the access audit
keeps its own retention. The clock is a parameter: nothing waits."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from case_plan.action_plans.models import ActionPlan, Objective, ObjectiveCreate
from case_plan.action_plans.service import revise_plan
from case_plan.audit.models import AccessAuditTable
from case_plan.cases.models import Case
from case_plan.employment.models import KnownPlacement
from case_plan.employment.service import placement_started
from case_plan.privacy.consumers import apply_privacy_events
from case_plan.privacy.jobs import apply_retention
from case_plan.privacy.models import CaseHistory, ErasedPersonTable
from case_plan.settings import CasePlanSettings
from sqlalchemy import func, insert, select

from verbinding_common.contracts.intake import AccessAnswered, AccessRequested, PersonCorrected, PersonErased
from verbinding_common.db import outbox_table
from verbinding_common.jobs import JobContext
from verbinding_testing.consuming import apply_as_consumer


def context(sessionmaker, **settings) -> JobContext:
    return JobContext(settings=CasePlanSettings(environment="test", **settings), engine=None,  # type: ignore[arg-type]
                      sessionmaker=sessionmaker, state=None)


async def count(sessionmaker, table, *where) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(table).where(*where))


async def erased_at_intake(sessionmaker, *person_ids: uuid.UUID) -> None:
    async with sessionmaker() as session, session.begin():
        await apply_as_consumer(apply_privacy_events, session, *(PersonErased(person_id=p) for p in person_ids))


async def with_plan_and_placement(sessionmaker, case: Case) -> None:
    async with sessionmaker() as session, session.begin():
        case = await session.get_one(Case, case.id)
        await revise_plan(session=session, case=case, created_by="cm", objectives=[ObjectiveCreate(
            domain="language", term="short_term", description="Dutch course at A2", target_date=date(2025, 6, 1))])
        await placement_started(session=session, placement_id=uuid.uuid4(), person_id=case.person_id,
                                contract_type="permanent", hours_per_week=32, started_on=date(2025, 1, 1))


async def test_intakes_erasure_erases_the_case_plans_and_placements_and_frees_the_place(
        casework, sessionmaker) -> None:
    manager = await casework.add_manager(capacity=1)
    case = await casework.open()
    waiting = await casework.open()
    assert case.case_manager_id == manager.id and waiting.status == "waitlisted"
    await with_plan_and_placement(sessionmaker, case)

    await erased_at_intake(sessionmaker, case.person_id)
    assert await count(sessionmaker, Case, Case.person_id == case.person_id) == 0
    assert await count(sessionmaker, ActionPlan, ActionPlan.case_id == case.id) == 0
    assert await count(sessionmaker, Objective) == 0
    assert await count(sessionmaker, KnownPlacement, KnownPlacement.person_id == case.person_id) == 0
    assert await count(sessionmaker, outbox_table, outbox_table.c.key == str(case.id)) == 0
    assert await count(sessionmaker, ErasedPersonTable, ErasedPersonTable.c.person_id == case.person_id) == 1
    # The place it held went to the head of the waitlist; the caseload history keeps one anonymous count.
    assert (await casework.case(waiting.id)).case_manager_id == manager.id
    assert (await casework.manager(manager.id)).active_cases == 1
    async with sessionmaker() as session:
        assert (await session.scalars(select(CaseHistory.cases))).all() == [1]


async def test_the_same_erasure_again_changes_nothing(casework, sessionmaker) -> None:
    await casework.add_manager()
    case = await casework.open()
    await erased_at_intake(sessionmaker, case.person_id)
    await erased_at_intake(sessionmaker, case.person_id)
    async with sessionmaker() as session:
        assert (await session.scalars(select(CaseHistory.cases))).all() == [1]


async def test_a_registration_arriving_after_the_erasure_is_erased_by_the_next_run(casework, sessionmaker) -> None:
    await casework.add_manager()
    person_id = uuid.uuid4()
    await erased_at_intake(sessionmaker, person_id)
    late = await casework.open(person_id=person_id)
    assert late is not None
    assert await apply_retention(context(sessionmaker)) == 1
    assert await count(sessionmaker, Case, Case.person_id == person_id) == 0


async def test_a_closed_case_goes_by_case_plans_own_rule_after_its_retention(casework, sessionmaker) -> None:
    await casework.add_manager()
    closed = await casework.open()
    await casework.close(closed.id)
    still_open = await casework.open()
    now = datetime.now(UTC)
    assert await apply_retention(context(sessionmaker, closed_case_retention_days=30),
                                 now=now + timedelta(days=29)) == 0
    assert await apply_retention(context(sessionmaker, closed_case_retention_days=30),
                                 now=now + timedelta(days=31)) == 1
    assert await count(sessionmaker, Case, Case.id == closed.id) == 0
    assert await count(sessionmaker, Case, Case.id == still_open.id) == 1


async def test_the_access_audit_keeps_its_own_longer_retention(sessionmaker) -> None:
    old, recent, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        await session.execute(insert(AccessAuditTable), [
            {"at": now - timedelta(days=days), "subject": "tl", "roles": ["team_lead"], "action": "GET /cases",
             "record_kind": "case", "record_id": record_id, "outcome": "allowed"}
            for record_id, days in ((old, 1827), (recent, 1800))])
    await apply_retention(context(sessionmaker), now=now)
    assert await count(sessionmaker, AccessAuditTable, AccessAuditTable.c.record_id == old) == 0
    assert await count(sessionmaker, AccessAuditTable, AccessAuditTable.c.record_id == recent) == 1


async def test_a_correction_of_the_languages_replaces_the_cases_copy(casework, sessionmaker) -> None:
    await casework.add_manager()
    case = await casework.open(languages=("ar",))
    async with sessionmaker() as session, session.begin():
        await apply_as_consumer(apply_privacy_events, session,
                                PersonCorrected(person_id=case.person_id, languages=["ti", "ar"]))
    assert (await casework.case(case.id)).languages == ["ti", "ar"]


async def test_an_access_request_is_answered_with_every_record_of_the_person_and_nobody_elses(
        casework, sessionmaker) -> None:
    await casework.add_manager()
    case, other = await casework.open(), await casework.open()
    await with_plan_and_placement(sessionmaker, case)
    request_id = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        await apply_as_consumer(apply_privacy_events, session,
                                AccessRequested(request_id=request_id, person_id=case.person_id))
    async with sessionmaker() as session:
        [answer] = (await session.scalars(select(outbox_table.c.envelope).where(
            outbox_table.c.event_type == AccessAnswered.event_type))).all()
    data = answer["data"]
    assert (data["request_id"], data["person_id"], data["service"]) == (str(request_id), str(case.person_id),
                                                                        "case-plan")
    tables = {record["table"]: record for record in data["records"]}
    assert set(tables) == {"case", "action_plan", "objective", "known_placement"}
    assert tables["objective"]["rows"][0]["description"] == {
        "value": "Dutch course at A2", "purpose": "what the person and the case manager agreed (free text)"}
    assert tables["case"]["legal_ground"].startswith("GDPR Art. 6(1)(e)")
    assert str(other.person_id) not in str(data) and str(other.id) not in str(data)
