"""Alembic environment of safe-reporting: the tables of every models.py in `safe_reporting` plus the backbone's."""

from safe_reporting.database import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata, models_of="safe_reporting")
