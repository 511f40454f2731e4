"""Events intake publishes on `intake.persons.v1`: only what case-plan and employment need of a person."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field, StringConstraints, field_validator

from ..events import EventContract, contract


class Domain(StrEnum):
    """Domains of need and of action-plan objectives: the domains the Amsterdam Approach works in at the same time."""

    work = "work"
    education = "education"
    health_care = "health_care"
    housing = "housing"
    participation = "participation"
    language = "language"


CefrLevel = Literal["A0", "A1", "A2", "B1", "B2", "C1", "C2"]
# ISCED 2011 levels: 0 early childhood … 3 upper secondary … 6 bachelor … 8 doctoral.
IscedLevel = Annotated[int, Field(ge=0, le=8)]
# ISCO-08 occupation codes: 1 digit (major group) to 4 digits (unit group).
IscoCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,4}$")]


@contract
class PersonRegistered(EventContract):
    """A newcomer with status is in intake. No name, birth date or COA number: other services do not need them."""

    event_type: ClassVar[str] = "intake.person-registered.v1"
    topic: ClassVar[str] = "intake.persons.v1"
    key_field: ClassVar[str] = "person_id"

    person_id: UUID = Field(description="the person in intake, the key of every event about them; case-plan and "
                                        "employment key their copy of the person by it")
    household_id: UUID = Field(description="the person's household (a partner arriving by family reunification "
                                           "joins the partner's); case-plan sees a household's cases together")
    recognised_on: date = Field(description="the day the COA recognised the person's refugee status; case-plan: "
                                            "support runs 3 years from it and the waitlist is ordered by it; "
                                            "employment: the recognition cohort of the monitoring")
    gender: Literal["female", "male", "x"] = Field(description="as the COA recorded it; employment: labour-market "
                                                               "participation by gender in the monitoring")
    languages: list[str] = Field(default_factory=list, description="languages spoken, ISO 639-1 codes, best first; "
                                                                   "case-plan prefers a case manager who shares one")
    family_reunification: bool = Field(
        description="case-plan and employment: a partner arriving by family reunification is counselled in their "
                    "own right (gender-sensitive coaching), whatever the partner's work")


@contract
class InterviewCompleted(EventContract):
    """The intake interview is done: what the action plan and job hunting start from, as codes only.

    No free text, no health-care need and no consent list: they stay in intake. v2 replaced v1, which carried the
    profession and education as free text and the consent list, and which no service consumed.
    """

    event_type: ClassVar[str] = "intake.interview-completed.v2"
    topic: ClassVar[str] = "intake.persons.v1"
    key_field: ClassVar[str] = "person_id"

    person_id: UUID = Field(description="case-plan and employment key their copy of the person by it")
    education_isced_level: IscedLevel = Field(
        description="highest education completed, ISCED 2011 level 0-8; employment matches vacancies by it")
    occupation_isco_group: str | None = Field(
        default=None, pattern=r"^[0-9]{1,2}$",
        description="ISCO-08 sub-major group (2 digits) of the last occupation, or its major group (1 digit) when "
                    "the interview named only that, null when none; employment ranks vacancies of that group "
                    "higher (long-term work that fits the profession)")
    years_of_work_experience: int = Field(ge=0, le=80, description="employment: a component of the match")
    dutch_level: CefrLevel = Field(description="CEFR level of Dutch; case-plan plans language training by it, "
                                               "employment matches vacancies' language requirement")
    domains_of_need: list[Domain] = Field(
        description="case-plan and employment: where the action plan starts; never health_care (stays in intake)")

    @field_validator("domains_of_need")
    @classmethod
    def _no_health_care(cls, domains: list[Domain]) -> list[Domain]:
        if Domain.health_care in domains:
            raise ValueError("health_care is a need intake keeps to itself; leave it out of the event")
        return domains


RECOGNITIONS_TOPIC = "intake.recognitions.v1"


class RejectionReason(StrEnum):
    """Why intake could not take a recognition in: a closed list of codes, never the values that broke the rule."""

    # A text field holds a character no record can keep (a NUL): the COA corrects it and sends the recognition again.
    unstorable_text = "unstorable_text"
    # The recognition names its own COA number as the partner it joins by family reunification.
    partner_is_self = "partner_is_self"
    # Produced straight onto the topic, it breaks the recognition's contract (a field missing or malformed); the
    # gateway refuses the same with 422 at its door.
    breaks_contract = "breaks_contract"
    # The COA number belonged to a person intake erased when their retention ran out, less than
    # `VERBINDING_ERASED_COA_NUMBER_DAYS` ago: a stale copy is not registered again. A real new recognition of the
    # number is taken in after that period (docs/domain.md, "Retention and legal grounds").
    erased = "erased"


@contract
class RecognitionRejected(EventContract):
    """Intake could not take a recognition in: the COA may correct it and send it again. Only the COA number and a
    reason code: no name, no birth date, no value that broke the rule."""

    event_type: ClassVar[str] = "intake.recognition-rejected.v1"
    topic: ClassVar[str] = RECOGNITIONS_TOPIC
    key_field: ClassVar[str] = "coa_registration_number"

    coa_registration_number: str = Field(
        min_length=4, max_length=20, pattern=r"^[A-Za-z0-9-]+$",
        description="COA registration number of the recognition intake could not take in; the COA looks its status "
                    "up by it")
    reason: RejectionReason = Field(description="why, as a code from a closed list")


PRIVACY_TOPIC = "intake.privacy.v1"


@contract
class PersonErased(EventContract):
    """Intake erased a person whose retention ran out: every service erases what it holds about them. Ids only.

    Applying it twice, or before other events about the person, leaves the same result: each service remembers the
    id (nothing else) and erases again what a late event brings."""

    event_type: ClassVar[str] = "intake.person-erased.v1"
    topic: ClassVar[str] = PRIVACY_TOPIC
    key_field: ClassVar[str] = "person_id"

    person_id: UUID = Field(description="the person erased; case-plan and employment erase their copy and every "
                                        "record about them, keeping only anonymous counts")


@contract
class PersonCorrected(EventContract):
    """Intake corrected a person's record: every service that copied a corrected value takes the new one. Only the
    values others copy (languages); names and birth dates never leave intake, and the old value is never sent."""

    event_type: ClassVar[str] = "intake.person-corrected.v1"
    topic: ClassVar[str] = PRIVACY_TOPIC
    key_field: ClassVar[str] = "person_id"

    person_id: UUID = Field(description="the person corrected")
    languages: list[str] = Field(max_length=20, description="the corrected languages, ISO 639-1 codes, best first; "
                                                            "case-plan and employment replace their copy with them")


@contract
class AccessRequested(EventContract):
    """A person asked what the city holds about them (GDPR Art. 15): every service holding some answers with
    `intake.access-answered.v1`. Ids only."""

    event_type: ClassVar[str] = "intake.access-requested.v1"
    topic: ClassVar[str] = PRIVACY_TOPIC
    key_field: ClassVar[str] = "person_id"

    request_id: UUID = Field(description="the access request; the answers name it")
    person_id: UUID = Field(description="whose data is asked for; case-plan and employment answer with theirs")


ACCESS_ANSWERS_TOPIC = "intake.access-answers.v1"


@contract
class AccessAnswered(EventContract):
    """One service's answer to an access request: everything it holds about the person, each field with its value
    and purpose. Personal data by design, for intake alone (the request's owner), which puts the export together."""

    event_type: ClassVar[str] = "intake.access-answered.v1"
    topic: ClassVar[str] = ACCESS_ANSWERS_TOPIC
    key_field: ClassVar[str] = "person_id"
    producers: ClassVar[tuple[str, ...]] = ("case-plan", "employment")
    # Intake applies an answer within seconds; a day covers an outage of intake. An answer lost past it is asked
    # for again by a new request: the broker need not keep a person's records (nor their dead letters) for a week.
    topic_retention_hours: ClassVar[int | None] = 24

    request_id: UUID = Field(description="the access request answered")
    person_id: UUID = Field(description="whose data this is")
    service: str = Field(min_length=1, max_length=64, description="the answering service: a source of the export")
    records: list[dict[str, Any]] = Field(
        max_length=1000, description="per table: kind of record, legal ground, retention, and rows of fields, each "
                                     "{value, purpose}; intake puts them into the export as they are")
