"""Alembic environment of intake: the tables of every models.py in `intake` plus the backbone's."""

from intake.database import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata, models_of="intake")
