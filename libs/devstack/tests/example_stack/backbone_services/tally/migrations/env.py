"""Alembic env of the tally example."""

from tally_app.main import metadata

from verbinding_common.migrations import run_migrations

run_migrations(metadata)
