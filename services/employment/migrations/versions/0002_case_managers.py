"""Case managers as case-plan announces them (case-plan.case-managers.v1): the holder of a case reads its employment.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_manager",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_manager")),
    )
    op.create_index(op.f("ix_case_manager_subject"), "case_manager", ["subject"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_manager_subject"), table_name="case_manager")
    op.drop_table("case_manager")
