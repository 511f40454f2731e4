"""Erasure: the ids of erased persons (tombstones) and the anonymous participation history that outlives erased
job seekers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from verbinding_common.privacy import create_erased_person_table_v1

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_erased_person_table_v1()
    op.create_table(
        "participation_history",
        sa.Column("cohort", sa.SmallInteger(), nullable=False),
        sa.Column("gender", sa.String(8), nullable=False),
        sa.Column("worked", sa.Boolean(), nullable=False),
        sa.Column("sustainable", sa.Boolean(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("cohort", "gender", "worked", "sustainable", name="pk_participation_history"),
    )


def downgrade() -> None:
    op.drop_table("participation_history")
    op.drop_table("erased_person")
