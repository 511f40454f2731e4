"""Events employment publishes, keyed by person id: on `employment.placements.v1` work found, work ended, retention;
on `employment.applications.v1` application steps; on `employment.job-hunters.v1` who serves whom."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from ..events import EventContract, contract

TOPIC = "employment.placements.v1"


class ContractType(StrEnum):
    temporary = "temporary"
    fixed_term = "fixed_term"
    permanent = "permanent"


class Sector(StrEnum):
    """Sectors of work, as codes: the monitoring counts people working in each."""

    hospitality_food = "hospitality_food"
    retail = "retail"
    care = "care"
    cleaning = "cleaning"
    logistics = "logistics"
    construction = "construction"
    manufacturing = "manufacturing"
    technology = "technology"
    education = "education"
    public_administration = "public_administration"
    agriculture = "agriculture"
    other = "other"


class PlacementEndReason(StrEnum):
    contract_ended = "contract_ended"
    resigned = "resigned"
    dismissed = "dismissed"
    other_work = "other_work"
    education = "education"
    health = "health"
    moved_away = "moved_away"
    other = "other"


class RetentionOutcome(StrEnum):
    same_employer = "same_employer"
    other_work = "other_work"
    not_working = "not_working"
    unknown = "unknown"


PLACEMENT_ID = Field(description="the placement: what case-plan keeps of it is keyed by this")
PERSON_ID = Field(description="the person (intake's id; the record key): the case it belongs to is found by it")


@contract
class PlacementStarted(EventContract):
    """A job seeker started work. Case-plan keeps the case open and shows the person as employed."""

    event_type: ClassVar[str] = "employment.placement-started.v1"
    topic: ClassVar[str] = TOPIC
    key_field: ClassVar[str] = "person_id"

    placement_id: UUID = PLACEMENT_ID
    person_id: UUID = PERSON_ID
    contract_type: ContractType = Field(description="temporary, fixed_term or permanent: the case shows it")
    hours_per_week: int = Field(ge=1, le=60, description="contracted hours a week")
    sector: Sector = Field(description="the sector of the work, as a code")
    started_on: date = Field(description="first day of work: the case shows the person employed since then")
    ends_on: date | None = Field(default=None, description="the contract's planned end; null when open-ended")


@contract
class PlacementEnded(EventContract):
    """A placement ended; coaching goes on."""

    event_type: ClassVar[str] = "employment.placement-ended.v1"
    topic: ClassVar[str] = TOPIC
    key_field: ClassVar[str] = "person_id"

    placement_id: UUID = PLACEMENT_ID
    person_id: UUID = PERSON_ID
    ended_on: date = Field(description="last day of the placement: the case no longer shows it from then")
    reason: PlacementEndReason = Field(description="why it ended, as a code (no free text)")


@contract
class RetentionChecked(EventContract):
    """The outcome of the 6-, 12- or 24-month retention check of a placement."""

    event_type: ClassVar[str] = "employment.retention-checked.v1"
    topic: ClassVar[str] = TOPIC
    key_field: ClassVar[str] = "person_id"

    placement_id: UUID = PLACEMENT_ID
    person_id: UUID = PERSON_ID
    months: int = Field(description="6, 12 or 24: months after the placement started")
    due_on: date = Field(description="the day the check came due")
    outcome: RetentionOutcome = Field(description="same_employer, other_work, not_working or unknown")


APPLICATIONS_TOPIC = "employment.applications.v1"


class ApplicationStage(StrEnum):
    """Between a match and a placement: proposed, applied, interview, offer, placed; or ended, rejected or
    withdrawn."""

    proposed = "proposed"
    applied = "applied"
    interview = "interview"
    offer = "offer"
    placed = "placed"
    rejected = "rejected"
    withdrawn = "withdrawn"


class ApplicationEndReason(StrEnum):
    """Why an application was rejected or withdrawn, as a code (no free text)."""

    education = "education"
    experience = "experience"
    language = "language"
    hours = "hours"
    location = "location"
    contract = "contract"
    other_candidate = "other_candidate"
    other_work = "other_work"
    vacancy_closed = "vacancy_closed"
    no_show = "no_show"
    personal = "personal"
    other = "other"


@contract
class ApplicationStepped(EventContract):
    """An application moved a step: proposed by the job hunter, applied, interview, offer, placed, or ended
    (rejected or withdrawn, with a reason code). Codes only: a front-end shows the pipeline by it."""

    event_type: ClassVar[str] = "employment.application-stepped.v1"
    topic: ClassVar[str] = APPLICATIONS_TOPIC
    key_field: ClassVar[str] = "person_id"

    application_id: UUID = Field(description="the application: one per job seeker and vacancy")
    person_id: UUID = PERSON_ID
    vacancy_id: UUID = Field(description="the vacancy applied for")
    stage: ApplicationStage = Field(description="the stage reached by this step")
    reason: ApplicationEndReason | None = Field(default=None, description="why, when rejected or withdrawn")
    stepped_on: date = Field(description="the day of the step")


@contract
class RetentionCheckDue(EventContract):
    """A retention check came due: its job hunter has it on their list until an outcome is recorded."""

    event_type: ClassVar[str] = "employment.retention-check-due.v1"
    topic: ClassVar[str] = TOPIC
    key_field: ClassVar[str] = "person_id"

    retention_check_id: UUID = Field(description="the check: its outcome is recorded by this id")
    placement_id: UUID = PLACEMENT_ID
    person_id: UUID = PERSON_ID
    job_hunter_id: UUID | None = Field(description="the job hunter whose list it is on (null: nobody holds them)")
    months: int = Field(description="6, 12 or 24: months after the placement started")
    due_on: date = Field(description="the day the check came due")


@contract
class RetentionCheckOverdue(EventContract):
    """A retention check is still open 30 days after it came due: escalated to the team leads."""

    event_type: ClassVar[str] = "employment.retention-check-overdue.v1"
    topic: ClassVar[str] = TOPIC
    key_field: ClassVar[str] = "person_id"

    retention_check_id: UUID = Field(description="the check: its outcome is recorded by this id")
    placement_id: UUID = PLACEMENT_ID
    person_id: UUID = PERSON_ID
    job_hunter_id: UUID | None = Field(description="the job hunter whose list it has been on")
    months: int = Field(description="6, 12 or 24: months after the placement started")
    due_on: date = Field(description="the day the check came due")


JOB_HUNTERS_TOPIC = "employment.job-hunters.v1"


@contract
class JobHunterAssigned(EventContract):
    """A job seeker was given to a job hunter. Ids and the job hunter's login only: intake keeps who serves whom, to
    show that job hunter alone the person's working name (the name never leaves intake by an event)."""

    event_type: ClassVar[str] = "employment.job-hunter-assigned.v1"
    topic: ClassVar[str] = JOB_HUNTERS_TOPIC
    key_field: ClassVar[str] = "person_id"

    person_id: UUID = PERSON_ID
    job_hunter_id: UUID = Field(description="the job hunter who serves the person from now on")
    job_hunter_subject: str = Field(max_length=128, description="the job hunter's login, as the gateway vouches for it")
