"""Corrections of a person's record (GDPR Art. 16): which fields, why, by whom, when; erased with the person.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correction",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("fields", postgresql.ARRAY(sa.String(32)), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrected_by", sa.String(255), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name="fk_correction_person_id_person",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_correction"),
    )
    op.create_index("ix_correction_person_id", "correction", ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_correction_person_id", table_name="correction")
    op.drop_table("correction")
