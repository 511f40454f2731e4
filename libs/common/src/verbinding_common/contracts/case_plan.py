"""Events case-plan publishes on `case-plan.cases.v1`, keyed by case id."""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from ..events import EventContract, contract
from .intake import Domain

TOPIC = "case-plan.cases.v1"


@contract
class CaseOpened(EventContract):
    """Every registered person gets a case, with support for up to 3 years from recognition (docs/domain.md)."""

    event_type: ClassVar[str] = "case-plan.case-opened.v1"
    topic: ClassVar[str] = TOPIC

    case_id: UUID
    person_id: UUID
    recognised_on: date
    support_until: date


@contract
class CaseManagerAssigned(EventContract):
    event_type: ClassVar[str] = "case-plan.case-manager-assigned.v1"
    topic: ClassVar[str] = TOPIC

    case_id: UUID
    person_id: UUID
    case_manager_id: UUID
    from_waitlist: bool = False


@contract
class CaseWaitlisted(EventContract):
    """No case manager has room: the case waits, ordered by recognition date."""

    event_type: ClassVar[str] = "case-plan.case-waitlisted.v1"
    topic: ClassVar[str] = TOPIC

    case_id: UUID
    person_id: UUID
    recognised_on: date


@contract
class ActionPlanRevised(EventContract):
    event_type: ClassVar[str] = "case-plan.action-plan-revised.v1"
    topic: ClassVar[str] = TOPIC

    case_id: UUID
    person_id: UUID
    version: int = Field(ge=1)
    active_domains: list[Domain]
    approved: bool


@contract
class CaseClosed(EventContract):
    event_type: ClassVar[str] = "case-plan.case-closed.v1"
    topic: ClassVar[str] = TOPIC

    case_id: UUID
    person_id: UUID
    closed_on: date
    reason: str
