"""Alembic environment of shelter-placement: the tables of every models.py in `shelter_placement` plus the
backbone's."""

from shelter_placement.database import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata, models_of="shelter_placement")
