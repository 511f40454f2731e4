"""Alembic environment of intake: its own tables plus the backbone's (outbox, processed_event)."""

from intake.models import metadata

from verbinding_common.migrations import run_migrations

run_migrations(metadata)
