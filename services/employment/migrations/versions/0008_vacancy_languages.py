"""Vacancies name the languages other than Dutch the work can be done in.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("vacancy", sa.Column("accepted_languages", postgresql.ARRAY(sa.String(length=2)),
                                       server_default=sa.text("'{}'"), nullable=False))


def downgrade() -> None:
    op.drop_column("vacancy", "accepted_languages")
