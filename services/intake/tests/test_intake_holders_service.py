"""Intake's copy of who holds which case: case-plan's facts applied in their order, as the consumer hands them."""

from __future__ import annotations

import uuid
from datetime import date

from intake.holders.consumers import case_holders_consumer, keep_case_holders
from intake.holders.models import CaseHolder, KnownCaseManager
from intake.recognitions.models import RecognitionProgress
from intake.recognitions.service import note_registrations
from sqlalchemy import event

from verbinding_common.contracts.case_plan import (
    ActionPlanRevised,
    CaseClosed,
    CaseManagerAssigned,
    CaseManagerJoined,
    CaseOpened,
    CaseWaitlisted,
)
from verbinding_testing.consuming import apply_as_consumer


async def apply(intake, *events) -> None:
    async with intake.sessionmaker() as session, session.begin():
        await apply_as_consumer(keep_case_holders, session, *events)


async def test_a_closing_keeps_the_last_holder_whether_it_comes_in_the_same_fetch_or_a_later_one(intake) -> None:
    manager, first, second = uuid.uuid4(), (uuid.uuid4(), uuid.uuid4()), (uuid.uuid4(), uuid.uuid4())
    closed = {"closed_on": date(2025, 6, 1), "reason": "moved away"}
    await apply(intake, CaseManagerJoined(case_manager_id=manager, subject="cm-zoe", team="noord"),
                CaseManagerAssigned(case_id=first[0], person_id=first[1], case_manager_id=manager),
                CaseClosed(case_id=first[0], person_id=first[1], **closed),
                CaseManagerAssigned(case_id=second[0], person_id=second[1], case_manager_id=manager))
    await apply(intake, CaseClosed(case_id=second[0], person_id=second[1], **closed))
    async with intake.sessionmaker() as session:
        holders = [await session.get(CaseHolder, case_id) for case_id in (first[0], second[0])]
        known = await session.get(KnownCaseManager, manager)
    assert [(h.status, h.case_manager_id) for h in holders] == [("closed", manager), ("closed", manager)]
    assert (known.subject, known.team) == ("cm-zoe", "noord")


def test_the_consumer_takes_only_the_facts_access_and_the_recognition_status_rest_on() -> None:
    taken = {contract.event_type for contract in case_holders_consumer.events}
    assert taken == {CaseManagerAssigned.event_type, CaseWaitlisted.event_type, CaseClosed.event_type,
                     CaseManagerJoined.event_type}
    assert not {CaseOpened.event_type, ActionPlanRevised.event_type} & taken


async def test_a_fetch_of_case_facts_moves_each_status_once_in_one_statement_to_its_first_fact_of_the_furthest_stage(
        intake) -> None:
    people = {f"V-FOLLOW-{n:03d}": (uuid.uuid4(), uuid.uuid4()) for n in range(40)}
    async with intake.sessionmaker() as session, session.begin():
        await note_registrations(session=session, registered=[(number, person) for number, (person, _) in
                                                              people.items()])
    manager, other_manager = uuid.uuid4(), uuid.uuid4()
    (first_person, first_case), (_, second_case) = list(people.values())[:2]
    facts = [CaseWaitlisted(case_id=case, person_id=person, recognised_on=date(2024, 1, 1))
             for person, case in people.values()]
    # Assigned, then waitlisted again (an earlier stage: ignored), then assigned again (the same stage as the status
    # by then: ignored too), as applied one by one.
    facts += [CaseManagerAssigned(case_id=first_case, person_id=first_person, case_manager_id=manager),
              CaseWaitlisted(case_id=first_case, person_id=first_person, recognised_on=date(2024, 1, 1)),
              CaseManagerAssigned(case_id=first_case, person_id=first_person, case_manager_id=other_manager)]
    updates: list[int] = []  # executions of an UPDATE of the status (an executemany counts each row)

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if "UPDATE recognition_progress" in statement:
            updates.append(len(parameters) if executemany else 1)

    engine = intake.sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await apply(intake, *facts)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert sum(updates) == 1
    async with intake.sessionmaker() as session:
        first, second = [await session.get(RecognitionProgress, number) for number in list(people)[:2]]
    assert (first.status, first.case_id) == ("case_manager_assigned", first_case)
    assert (second.status, second.case_id) == ("waitlisted", second_case)
