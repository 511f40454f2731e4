"""Alembic environment of employment: the tables of every models.py in `employment` plus the backbone's."""

from employment.database import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata, models_of="employment")
