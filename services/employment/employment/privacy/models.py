"""Employment's erased-person tombstones, the anonymous participation history that outlives erased job seekers, and
the purpose, legal ground and retention of every personal column it holds (read by the register of processing)."""

from sqlalchemy import Boolean, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.privacy import RecordKind, declare_personal_data, erased_person_table

from ..audit.models import AccessAuditTable
from ..database import Base
from ..job_seekers import models as _job_seekers  # noqa: F401  (their tables are declared below)
from ..placements import models as _placements  # noqa: F401
from ..vacancies import models as _vacancies  # noqa: F401

ErasedPersonTable = erased_person_table(Base.metadata)


class ParticipationHistory(Base):
    """Anonymous participation history: how many erased job seekers of a recognition cohort and gender had worked,
    and in sustainable work within 3 years (the monitoring's definitions); no person, no placement."""

    __tablename__ = "participation_history"

    cohort: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    gender: Mapped[str] = mapped_column(String(8), primary_key=True)  # "" when unknown
    worked: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    sustainable: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    people: Mapped[int] = mapped_column(Integer)


PUBLIC_TASK = ("GDPR Art. 6(1)(e) and (c): the municipality's public task and legal duty under the Participatiewet "
               "(guidance to work of newcomers with refugee status)")

PERSONAL_DATA = declare_personal_data(
    Base, service="employment",
    not_about_persons={"job_hunter": "staff: job hunters", "case_manager": "staff: case managers case-plan announced",
                       "employer": "employers (organisations)", "vacancy": "vacancies of employers",
                       "participation_history": "anonymous counts per cohort and gender",
                       AccessAuditTable.name: "the access audit: ids of records and of staff, its own retention"},
    kinds=[
        RecordKind(name="job seeker, applications and placements",
                   tables=("job_seeker", "application", "application_step", "placement", "retention_check"),
                   legal_ground=PUBLIC_TASK,
                   retention="erased with the person (intake.person-erased.v1), and at the latest "
                             "`VERBINDING_JOB_SEEKER_RETENTION_DAYS` (730) days after the person's case closed",
                   retention_setting="job_seeker_retention_days"),
        RecordKind(name="erasure tombstone", tables=("erased_person",),
                   legal_ground="GDPR Art. 17 and 5(2): proof that the erasure was done, and that it stays done",
                   retention="as long as events about the person may still arrive: kept (an id only)"),
    ],
    purposes={
        "job_seeker": {
            "person_id": "the person employment works for (pseudonymous id from intake)",
            "recognised_on": "the recognition cohort of the monitoring; sustainable work within 3 years of it",
            "gender": "participation monitoring by gender",
            "languages": "job matching",
            "education_level": "job matching (ISCED level)",
            "occupation": "job matching (ISCO-08 group)",
            "years_of_experience": "job matching",
            "dutch_level": "job matching (CEFR level)",
            "hours_wanted": "job matching",
            "district": "job matching: the distance to a vacancy (one of Amsterdam's districts, never an address)",
            "case_id": "the person's case: whether it is open",
            "case_manager_id": "who may read the person's employment",
            "case_closed_on": "when support ended; the retention period runs from it",
            "job_hunter_id": "who coaches the person towards work",
            "first_seen_at": "when employment first heard of the person",
        },
        "application": {
            "id": "the application's id",
            "person_id": "whose application it is",
            "vacancy_id": "the vacancy applied for",
            "stage": "where the application stands",
            "furthest": "the furthest stage reached: conversion per stage in the monitoring",
            "reason": "why it was rejected or withdrawn (a code)",
            "stepped_on": "the day of its latest step",
            "recorded_by": "who recorded it (accountability)",
            "created_at": "when it was proposed",
        },
        "application_step": {
            "application_id": "the application stepped",
            "stage": "the stage reached",
            "stepped_on": "the day it was reached: conversion per stage as of a report date",
        },
        "placement": {
            "id": "the placement's id",
            "person_id": "whose placement it is",
            "employer_id": "with whom the person works",
            "vacancy_id": "the vacancy filled",
            "contract_type": "what counts as lasting work; monitoring",
            "hours_per_week": "sustainable work counts 20 hours or more",
            "sector": "monitoring by sector",
            "started_on": "retention checks come due from it",
            "ends_on": "planned end of the contract",
            "ended_on": "when the placement ended",
            "end_reason": "why it ended (a code)",
            "recorded_by": "who recorded it (accountability)",
        },
        "retention_check": {
            "id": "the check's id",
            "placement_id": "the placement checked",
            "person_id": "whose placement it is",
            "months": "6, 12 or 24 months after the start",
            "due_on": "when the check comes due",
            "announced_on": "when the job hunter was told the check came due",
            "escalated_on": "when the team leads were told the check was overdue",
            "outcome": "still at work, and with whom (a code)",
            "recorded_at": "when the outcome was recorded",
            "recorded_by": "who recorded it (accountability)",
        },
    },
)
