"""Intake's erased-person tombstones, and the purpose, legal ground and retention of every personal column it holds
(read by the register of processing, `make register`)."""

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, model_validator
from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, LargeBinary, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.privacy import RecordKind, declare_personal_data, erased_person_table
from verbinding_common.routes import RequestModel

from ..audit.models import AccessAuditTable
from ..database import Base
from ..holders import models as _holders  # noqa: F401  (their tables are declared below)
from ..households import models as _households  # noqa: F401
from ..interviews import models as _interviews  # noqa: F401
from ..persons import models as _persons  # noqa: F401
from ..recognitions import models as _recognitions  # noqa: F401

ErasedPersonTable = erased_person_table(Base.metadata)



class ErasedCoaNumber(Base):
    """An erased person's COA number as a keyed hash (HMAC-SHA256 under `VERBINDING_ERASURE_PEPPER`), never the number:
    a recognition of that number sent again before `expires_at` is rejected (`erased`) instead of registering the
    person anew from a stale copy at the COA. Then it is purged, and the number is taken in like any other: a
    tombstone that never expired would turn away a real new recognition for ever."""

    __tablename__ = "erased_coa_number"

    number_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


CORRECTABLE = ("family_name", "given_names", "date_of_birth", "languages")


class Correction(Base):
    """A correction of a person's record (GDPR Art. 16): which fields, why, by whom, when. Never the old values: the
    record holds the right ones now, and the audit needs only that it changed."""

    __tablename__ = "correction"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    person_id: Mapped[UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    reason: Mapped[str] = mapped_column(Text)
    corrected_by: Mapped[str] = mapped_column(String(255))
    corrected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AccessRequest(Base):
    """A person's request for their data (GDPR Art. 15), made for them by a team lead: its export (intake's records
    and every other service's answer) can be downloaded until it expires, and is then purged."""

    __tablename__ = "access_request"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    person_id: Mapped[UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[str] = mapped_column(String(255))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AccessAnswer(Base):
    """One service's part of an access request's export (intake's own included)."""

    __tablename__ = "access_answer"

    request_id: Mapped[UUID] = mapped_column(ForeignKey("access_request.id", ondelete="CASCADE"), primary_key=True)
    service: Mapped[str] = mapped_column(String(64), primary_key=True)
    records: Mapped[list[dict]] = mapped_column(JSONB)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AccessRequestRead(BaseModel):
    request_id: UUID
    person_id: UUID
    requested_at: datetime
    expires_at: datetime = Field(description="the export can be downloaded until then; it is purged after")
    export_path: str = Field(description="where the requester downloads the export (GET)")


PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LanguageCode = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-zA-Z]{2}$")]


class PersonCorrection(RequestModel):
    """The corrected values (at least one) and why."""

    family_name: PersonName | None = None
    given_names: PersonName | None = None
    date_of_birth: date | None = Field(default=None, ge=date(1900, 1, 1))
    languages: list[LanguageCode] | None = Field(default=None, max_length=20,
                                                 description="ISO 639-1 codes, best first; replaces the list")
    reason: str = Field(min_length=1, max_length=500, description="why the record was wrong (kept with the record)")

    @model_validator(mode="after")
    def _something_to_correct(self) -> "PersonCorrection":
        if all(getattr(self, name) is None for name in CORRECTABLE):
            raise ValueError(f"name at least one of {', '.join(CORRECTABLE)} to correct")
        if self.date_of_birth is not None and self.date_of_birth > date.today():
            raise ValueError("date_of_birth is in the future")
        return self


class CorrectionRead(BaseModel):
    person_id: UUID
    corrected_fields: list[str] = Field(description="the fields whose value changed (none: it was right already)")
    reason: str
    corrected_by: str
    corrected_at: datetime

    @classmethod
    def of(cls, correction: Correction) -> "CorrectionRead":
        return cls(person_id=correction.person_id, corrected_fields=correction.fields, reason=correction.reason,
                   corrected_by=correction.corrected_by, corrected_at=correction.corrected_at)

PUBLIC_TASK = ("GDPR Art. 6(1)(e) and (c): the municipality's public task and legal duty under the Participatiewet "
               "and the Wet inburgering 2021 (the support of newcomers with refugee status)")
PERSON_RETENTION = ("until `VERBINDING_PERSON_RETENTION_DAYS` (730) days after support ends: the end of the 3-year "
                    "support window from recognition, or the case's closure when that came first")

PERSONAL_DATA = declare_personal_data(
    Base, service="intake", subject_tables=("person",),
    not_about_persons={"case_manager": "staff: the case managers case-plan announced (login and team)",
                       AccessAuditTable.name: "the access audit: ids of records and of staff, its own retention"},
    kinds=[
        RecordKind(name="person", tables=("person", "interview", "consent", "correction"), legal_ground=PUBLIC_TASK,
                   retention=PERSON_RETENTION, retention_setting="person_retention_days"),
        RecordKind(name="access request", tables=("access_request", "access_answer"),
                   legal_ground="GDPR Art. 6(1)(c) and Art. 15: the person's right of access",
                   retention="until the export expires: `VERBINDING_ACCESS_EXPORT_DAYS` (30) days after the request",
                   retention_setting="access_export_days"),
        RecordKind(name="case holder", tables=("case_holder",), legal_ground=PUBLIC_TASK,
                   retention="erased with the person", retention_setting="person_retention_days"),
        RecordKind(name="job hunter", tables=("serving_job_hunter",), legal_ground=PUBLIC_TASK,
                   retention="erased with the person", retention_setting="person_retention_days"),
        RecordKind(name="recognition status", tables=("recognition_progress",), legal_ground=PUBLIC_TASK,
                   retention="erased with the person; a rejected recognition (no person) after "
                             "`VERBINDING_REJECTED_RECOGNITION_RETENTION_DAYS` (90) days",
                   retention_setting="rejected_recognition_retention_days"),
        RecordKind(name="erasure tombstone", tables=("erased_person",),
                   legal_ground="GDPR Art. 17 and 5(2): proof that the erasure was done, and that it stays done",
                   retention="as long as events about the person may still arrive: kept (an id only)"),
        RecordKind(name="erased COA number", tables=("erased_coa_number",),
                   legal_ground="GDPR Art. 17 and 5(2): an erasure stays done when the COA sends the recognition again",
                   retention="`VERBINDING_ERASED_COA_NUMBER_DAYS` (365) days after the erasure (a keyed hash only)",
                   retention_setting="erased_coa_number_days"),
    ],
    purposes={
        "person": {
            "id": "the person's id: the key every service uses for them (pseudonymous)",
            "coa_registration_number": "takes each COA recognition in once; the COA looks its status up by it",
            "family_name": "identifies the person to their case manager",
            "given_names": "identifies the person to their case manager; the first is the working name their own "
                           "job hunter sees",
            "date_of_birth": "identifies the person; age-dependent support",
            "gender": "gender-sensitive coaching; participation monitoring by gender",
            "country_of_origin": "the intake interview's context (language, education abroad)",
            "languages": "a case manager who shares a language",
            "reception_centre": "where intake starts, while the person still lives there",
            "recognised_on": "the 3-year support window and the waitlist order run from it",
            "household_id": "the household the person belongs to (family reunification)",
            "family_reunification": "a partner arriving by family reunification is counselled in their own right",
            "family_reunification_with": "the partner's COA number: the partner arriving later joins the household",
            "status": "where the person is in intake",
            "registered_at": "when intake took the person in",
        },
        "interview": {
            "person_id": "whose interview it is",
            "education_level": "the action plan and job matching start from it (ISCED level)",
            "profession": "job matching: last occupation (ISCO-08 code)",
            "years_of_work_experience": "job matching",
            "dutch_level": "language training and job matching (CEFR level)",
            "other_languages": "language training and job matching",
            "domains_of_need": "where the action plan starts (health care stays in intake)",
            "recorded_at": "when the interview was recorded (accountability)",
            "recorded_by": "who recorded the interview (accountability)",
        },
        "consent": {
            "person_id": "whose consent it is",
            "organisation": "the partner organisation the person consented to share their intake with",
            "given_at": "when consent was given (proof of consent, GDPR Art. 7(1))",
        },
        "correction": {
            "id": "the correction's id",
            "person_id": "whose record was corrected",
            "fields": "which fields were corrected (never their old values)",
            "reason": "why the record was wrong (GDPR Art. 16; accountability)",
            "corrected_by": "who corrected it (accountability)",
            "corrected_at": "when",
        },
        "access_request": {
            "id": "the access request's id",
            "person_id": "whose data was asked for",
            "requested_by": "who asked, for the person (accountability)",
            "requested_at": "when: the answer is due within a month (GDPR Art. 12(3))",
            "expires_at": "until when the export can be downloaded",
        },
        "access_answer": {
            "request_id": "the access request answered",
            "service": "the source of this part of the export",
            "records": "what that service holds about the person, each field with its purpose",
            "answered_at": "when it answered",
        },
        "case_holder": {
            "case_id": "the person's case in case-plan",
            "person_id": "whose case it is",
            "case_manager_id": "who may see the person: the case's holder and their team lead",
            "status": "whether the case is open: support ends at closure",
            "updated_at": "when the case last changed: its closure starts the retention period",
        },
        "serving_job_hunter": {
            "person_id": "whom the job hunter serves",
            "job_hunter_id": "the job hunter employment gave the person to",
            "subject": "who may read the person's working name: that job hunter alone (their login)",
            "updated_at": "when the person was last given to a job hunter",
        },
        "erased_coa_number": {
            "number_hash": "a keyed hash of an erased person's COA number: a re-sent recognition is rejected, not "
                           "registered again (the number itself is not kept)",
            "expires_at": "when the hash is purged and the number may be taken in again",
        },
        "recognition_progress": {
            "coa_registration_number": "the COA looks up whether its recognition was taken in",
            "status": "how far the recognition got",
            "stage": "orders the statuses: a late event never moves one back",
            "reason": "why a recognition was rejected (a code)",
            "person_id": "the person the recognition became",
            "case_id": "the person's case",
            "taken_at": "when intake took the recognition in",
            "updated_at": "when its status last moved",
        },
    },
)
