"""Placements heard from employment (employment.placements.v1): the case shows the person employed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_placement",
        sa.Column("placement_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("contract_type", sa.String(length=16), nullable=False),
        sa.Column("hours_per_week", sa.SmallInteger(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("placement_id", name=op.f("pk_known_placement")),
    )
    op.create_index(op.f("ix_known_placement_person_id"), "known_placement", ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_known_placement_person_id"), table_name="known_placement")
    op.drop_table("known_placement")
