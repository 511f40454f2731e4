"""Alembic environment of case-plan: the tables of every models.py in `case_plan` plus the backbone's."""

from case_plan.database import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata, models_of="case_plan")
