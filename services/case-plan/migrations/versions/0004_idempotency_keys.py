"""Idempotency-Key answers (verbinding_common.idempotency): kept with the write they answer, purged after expiry.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from verbinding_common.migrations import create_idempotency_key_table_v1, drop_idempotency_key_table_v1

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_key_table_v1()


def downgrade() -> None:
    drop_idempotency_key_table_v1()
