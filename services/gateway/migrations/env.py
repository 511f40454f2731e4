"""Alembic environment of the gateway: its own table (coa_receipt) plus the backbone's (outbox, processed_event)."""

from gateway.coa.models import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata)
