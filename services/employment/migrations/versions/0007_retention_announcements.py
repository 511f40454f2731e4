"""Retention checks remember when their coming due was announced and when, overdue, they were escalated.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("retention_check", sa.Column("announced_on", sa.Date(), nullable=True))
    op.add_column("retention_check", sa.Column("escalated_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("retention_check", "escalated_on")
    op.drop_column("retention_check", "announced_on")
