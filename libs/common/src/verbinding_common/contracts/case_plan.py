"""Events case-plan publishes: on `case-plan.cases.v1` keyed by case id, on `case-plan.case-managers.v1` keyed by
case manager id."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from ..events import EventContract, contract
from .intake import Domain

TOPIC = "case-plan.cases.v1"
CASE_MANAGERS_TOPIC = "case-plan.case-managers.v1"

CaseId = Annotated[UUID, Field(description="the case; the record's key")]
PersonId = Annotated[UUID, Field(description="the person the case is for (intake's person id: no name, no COA number)")]
RecognisedOn = Annotated[date, Field(description="the day the COA recognised the person's refugee status; the "
                                                 "waitlist is served in this order")]


@contract
class CaseOpened(EventContract):
    """Every registered person gets a case, with support for up to 3 years from recognition (docs/domain.md)."""

    event_type: ClassVar[str] = "case-plan.case-opened.v1"
    topic: ClassVar[str] = TOPIC
    key_field: ClassVar[str] = "case_id"

    case_id: CaseId
    person_id: PersonId
    recognised_on: RecognisedOn
    support_until: date = Field(description="the last day of support: 3 years after recognition")


@contract
class CaseManagerAssigned(EventContract):
    """The case has a case manager, who had room under their limit of 50 people at a time."""

    event_type: ClassVar[str] = "case-plan.case-manager-assigned.v1"
    topic: ClassVar[str] = TOPIC
    key_field: ClassVar[str] = "case_id"

    case_id: CaseId
    person_id: PersonId
    case_manager_id: UUID = Field(description="the case manager who now holds the case")
    from_waitlist: bool = Field(default=False, description="the case waited on the waitlist until room freed")


@contract
class CaseWaitlisted(EventContract):
    """No case manager has room: the case waits, ordered by recognition date."""

    event_type: ClassVar[str] = "case-plan.case-waitlisted.v1"
    topic: ClassVar[str] = TOPIC
    key_field: ClassVar[str] = "case_id"

    case_id: CaseId
    person_id: PersonId
    recognised_on: RecognisedOn


@contract
class ActionPlanRevised(EventContract):
    """A new version of the case's action plan; earlier versions stay readable in case-plan."""

    event_type: ClassVar[str] = "case-plan.action-plan-revised.v1"
    topic: ClassVar[str] = TOPIC
    key_field: ClassVar[str] = "case_id"

    case_id: CaseId
    person_id: PersonId
    version: int = Field(ge=1, description="the plan's version: 1 for the first plan, one more for each revision")
    active_domains: list[Domain] = Field(description="the domains this version has objectives in (several at once)")
    approved: bool = Field(description="this version has been approved")


@contract
class CaseClosed(EventContract):
    """The case ended: the person no longer counts in their case manager's caseload."""

    event_type: ClassVar[str] = "case-plan.case-closed.v1"
    topic: ClassVar[str] = TOPIC
    key_field: ClassVar[str] = "case_id"

    case_id: CaseId
    person_id: PersonId
    closed_on: date = Field(description="the day the case closed")
    reason: str = Field(description="why the case closed, as the person who closed it wrote it")


@contract
class CaseManagerJoined(EventContract):
    """A case manager joined a team. Intake needs the login the gateway vouches for (`subject`) to let them reach
    the persons whose case they hold, and the team to let that team's lead do the same; nothing else."""

    event_type: ClassVar[str] = "case-plan.case-manager-joined.v1"
    topic: ClassVar[str] = CASE_MANAGERS_TOPIC
    key_field: ClassVar[str] = "case_manager_id"

    case_manager_id: UUID = Field(description="the case manager, as case-manager-assigned names them; the key")
    subject: str = Field(min_length=1, max_length=128,
                         description="the login the gateway vouches for; intake matches a caller's identity to it")
    team: str | None = Field(default=None, max_length=64,
                             description="the team they belong to; that team's lead reaches their cases")
