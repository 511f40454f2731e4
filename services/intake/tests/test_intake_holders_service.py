"""Intake's copy of who holds which case: case-plan's facts applied in their order, a broken one refused."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from intake.holders.consumers import handle_case_events
from intake.holders.models import CaseHolder, KnownCaseManager

from verbinding_common.consumer import BatchItem, PoisonMessage
from verbinding_common.contracts.case_plan import CaseClosed, CaseManagerAssigned, CaseManagerJoined, CaseOpened
from verbinding_common.events import Envelope


def item(event) -> BatchItem:
    return BatchItem(envelope=Envelope(id=str(uuid.uuid4()), source="case-plan", type=event.event_type,
                                       time=datetime.now(UTC), data=event.model_dump(mode="json")), traceparent=None)


async def apply(intake, *events) -> None:
    async with intake.sessionmaker() as session, session.begin():
        await handle_case_events(session, [item(event) for event in events])


async def test_a_closing_keeps_the_last_holder_whether_it_comes_in_the_same_fetch_or_a_later_one(intake) -> None:
    manager, first, second = uuid.uuid4(), (uuid.uuid4(), uuid.uuid4()), (uuid.uuid4(), uuid.uuid4())
    closed = {"closed_on": date(2025, 6, 1), "reason": "moved away"}
    await apply(intake, CaseManagerJoined(case_manager_id=manager, subject="cm-zoe", team="noord"),
                CaseOpened(case_id=first[0], person_id=first[1], recognised_on=date(2025, 1, 1),
                           support_until=date(2028, 1, 1)),
                CaseManagerAssigned(case_id=first[0], person_id=first[1], case_manager_id=manager),
                CaseClosed(case_id=first[0], person_id=first[1], **closed),
                CaseManagerAssigned(case_id=second[0], person_id=second[1], case_manager_id=manager))
    await apply(intake, CaseClosed(case_id=second[0], person_id=second[1], **closed))
    async with intake.sessionmaker() as session:
        holders = {case_id: await session.get(CaseHolder, case_id) for case_id in (first[0], second[0])}
        known = await session.get(KnownCaseManager, manager)
    assert [(h.status, h.case_manager_id) for h in holders.values()] == [("closed", manager), ("closed", manager)]
    assert (known.subject, known.team) == ("cm-zoe", "noord")


async def test_a_case_event_that_breaks_its_contract_is_poison_and_names_the_field_not_the_value(intake) -> None:
    broken = item(CaseManagerAssigned(case_id=uuid.uuid4(), person_id=uuid.uuid4(), case_manager_id=uuid.uuid4()))
    broken.envelope.data["case_manager_id"] = "cm-secret-value"
    async with intake.sessionmaker() as session, session.begin():
        with pytest.raises(PoisonMessage, match="case_manager_id") as raised:
            await handle_case_events(session, [broken])
    assert "cm-secret-value" not in str(raised.value)
