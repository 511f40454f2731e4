"""Case-plan's erased-person tombstones, the anonymous caseload history that outlives erased cases, and the purpose,
legal ground and retention of every personal column it holds (read by the register of processing)."""

from sqlalchemy import Integer, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.privacy import RecordKind, declare_personal_data, erased_person_table

from ..action_plans import models as _action_plans  # noqa: F401  (their tables are declared below)
from ..audit.models import AccessAuditTable
from ..case_managers import models as _case_managers  # noqa: F401
from ..cases import models as _cases  # noqa: F401
from ..database import Base
from ..employment import models as _employment  # noqa: F401

ErasedPersonTable = erased_person_table(Base.metadata)


class CaseHistory(Base):
    """Anonymous caseload history: how many cases each case manager held that were closed in a year, kept after the
    cases themselves are erased (no person, no case id)."""

    __tablename__ = "case_history"

    case_manager_id: Mapped[str] = mapped_column(primary_key=True)  # "" for cases nobody held
    closed_year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)


PUBLIC_TASK = ("GDPR Art. 6(1)(e) and (c): the municipality's public task and legal duty under the Participatiewet "
               "and the Wet inburgering 2021 (case management of newcomers with refugee status)")

PERSONAL_DATA = declare_personal_data(
    Base, service="case-plan",
    not_about_persons={"case_manager": "staff: case managers, their teams and capacity",
                       "case_history": "anonymous counts per case manager and year",
                       AccessAuditTable.name: "the access audit: ids of records and of staff, its own retention"},
    kinds=[
        RecordKind(name="case and action plans", tables=("case", "action_plan", "objective"),
                   legal_ground=PUBLIC_TASK,
                   retention="erased with the person (intake.person-erased.v1), and at the latest "
                             "`VERBINDING_CLOSED_CASE_RETENTION_DAYS` (730) days after the case closed",
                   retention_setting="closed_case_retention_days"),
        RecordKind(name="known placement", tables=("known_placement",), legal_ground=PUBLIC_TASK,
                   retention="erased with the person's case", retention_setting="closed_case_retention_days"),
        RecordKind(name="erasure tombstone", tables=("erased_person",),
                   legal_ground="GDPR Art. 17 and 5(2): proof that the erasure was done, and that it stays done",
                   retention="as long as events about the person may still arrive: kept (an id only)"),
    ],
    purposes={
        "case": {
            "id": "the case's id (pseudonymous)",
            "person_id": "whose case it is: one case per person",
            "household_id": "a household's cases are seen together",
            "languages": "a case manager who shares a language",
            "recognised_on": "the waitlist order and the support window run from it",
            "support_until": "the end of the 3-year support window",
            "status": "assigned, waitlisted or closed",
            "case_manager_id": "who counsels the person",
            "arrival_seq": "the waitlist order among equal recognition dates",
            "opened_at": "when the case opened",
            "assigned_at": "when a case manager took it",
            "closed_at": "when support ended; the retention period runs from it",
            "close_reason": "why the case closed (free text written by staff)",
        },
        "action_plan": {
            "id": "the plan version's id",
            "case_id": "whose plan it is",
            "version": "every revision is a new version",
            "created_at": "when the version was written",
            "created_by": "who wrote it (accountability)",
            "approved_by": "who approved it (four eyes)",
            "approved_at": "when it was approved",
        },
        "objective": {
            "id": "the objective's id",
            "action_plan_id": "the plan version it belongs to",
            "position": "its place in the plan",
            "domain": "the domain of need it serves",
            "term": "short or long term",
            "description": "what the person and the case manager agreed (free text)",
            "target_date": "when it should be reached",
            "status": "planned, active, achieved or dropped",
        },
        "known_placement": {
            "placement_id": "the placement employment announced",
            "person_id": "whose placement it is",
            "contract_type": "the case shows the person employed, on what contract",
            "hours_per_week": "the case shows the person employed",
            "started_on": "employed since",
            "ended_on": "when the placement ended",
        },
    },
)
