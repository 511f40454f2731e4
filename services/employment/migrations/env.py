"""Alembic environment of employment: its own tables plus the backbone's (outbox, processed_event)."""

import employment.audit.models
import employment.job_seekers.models
import employment.placements.models
import employment.vacancies.models  # noqa: F401  (each models module registers its tables on Base.metadata)
from employment.database import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata)
