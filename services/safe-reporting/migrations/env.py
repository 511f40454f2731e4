"""Alembic environment of safe-reporting: its own tables plus the backbone's (outbox, processed_event)."""

import safe_reporting.audit.models
import safe_reporting.reports.models
import safe_reporting.statistics.models  # noqa: F401  (each models module registers its tables on Base.metadata)
from safe_reporting.database import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata)
