"""Alembic environment of the capacity hub: the tables of every models.py in `capacity_hub` plus the backbone's."""

from capacity_hub.database import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata, models_of="capacity_hub")
