"""Alembic environment of case-plan: its own tables plus the backbone's (outbox, processed_event)."""

import case_plan.action_plans.models
import case_plan.audit.models
import case_plan.case_managers.models
import case_plan.cases.models  # noqa: F401  (each models module registers its tables on Base.metadata)
from case_plan.database import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata)
