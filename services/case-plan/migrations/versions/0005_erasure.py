"""Erasure: the ids of erased persons (tombstones) and the anonymous caseload history that outlives erased cases.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from verbinding_common.privacy import create_erased_person_table_v1

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_erased_person_table_v1()
    op.create_table(
        "case_history",
        sa.Column("case_manager_id", sa.String(), nullable=False),
        sa.Column("closed_year", sa.SmallInteger(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("case_manager_id", "closed_year", name="pk_case_history"),
    )


def downgrade() -> None:
    op.drop_table("case_history")
    op.drop_table("erased_person")
