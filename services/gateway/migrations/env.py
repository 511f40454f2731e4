"""Alembic environment of gateway: the tables of every models.py in `gateway` plus the backbone's."""

from gateway.database import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata, models_of="gateway")
