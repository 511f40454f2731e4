"""Retention: the ids of erased persons (tombstones), so that late events about them are erased again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from alembic import op

from verbinding_common.privacy import create_erased_person_table_v1

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_erased_person_table_v1()


def downgrade() -> None:
    op.drop_table("erased_person")
