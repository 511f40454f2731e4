"""Intake's erased-person tombstones, and the purpose, legal ground and retention of every personal column it holds
(read by the register of processing, `make register`)."""

from verbinding_common.privacy import RecordKind, declare_personal_data, erased_person_table

from ..audit.models import AccessAuditTable
from ..database import Base
from ..holders import models as _holders  # noqa: F401  (their tables are declared below)
from ..households import models as _households  # noqa: F401
from ..interviews import models as _interviews  # noqa: F401
from ..persons import models as _persons  # noqa: F401
from ..recognitions import models as _recognitions  # noqa: F401

ErasedPersonTable = erased_person_table(Base.metadata)

PUBLIC_TASK = ("GDPR Art. 6(1)(e) and (c): the municipality's public task and legal duty under the Participatiewet "
               "and the Wet inburgering 2021 (the support of newcomers with refugee status)")
PERSON_RETENTION = ("until `VERBINDING_PERSON_RETENTION_DAYS` (730) days after support ends: the end of the 3-year "
                    "support window from recognition, or the case's closure when that came first")

PERSONAL_DATA = declare_personal_data(
    Base, service="intake", subject_tables=("person",),
    not_about_persons={"case_manager": "staff: the case managers case-plan announced (login and team)",
                       AccessAuditTable.name: "the access audit: ids of records and of staff, its own retention"},
    kinds=[
        RecordKind(name="person", tables=("person", "interview", "consent"), legal_ground=PUBLIC_TASK,
                   retention=PERSON_RETENTION, retention_setting="person_retention_days"),
        RecordKind(name="case holder", tables=("case_holder",), legal_ground=PUBLIC_TASK,
                   retention="erased with the person", retention_setting="person_retention_days"),
        RecordKind(name="recognition status", tables=("recognition_progress",), legal_ground=PUBLIC_TASK,
                   retention="erased with the person; a rejected recognition (no person) after "
                             "`VERBINDING_REJECTED_RECOGNITION_RETENTION_DAYS` (90) days",
                   retention_setting="rejected_recognition_retention_days"),
        RecordKind(name="erasure tombstone", tables=("erased_person",),
                   legal_ground="GDPR Art. 17 and 5(2): proof that the erasure was done, and that it stays done",
                   retention="as long as events about the person may still arrive: kept (an id only)"),
    ],
    purposes={
        "person": {
            "id": "the person's id: the key every service uses for them (pseudonymous)",
            "coa_registration_number": "takes each COA recognition in once; the COA looks its status up by it",
            "family_name": "identifies the person to their case manager",
            "given_names": "identifies the person to their case manager",
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
        "case_holder": {
            "case_id": "the person's case in case-plan",
            "person_id": "whose case it is",
            "case_manager_id": "who may see the person: the case's holder and their team lead",
            "status": "whether the case is open: support ends at closure",
            "updated_at": "when the case last changed: its closure starts the retention period",
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
