"""Erased persons' COA numbers as keyed hashes with an expiry: a re-sent recognition of an erased person is
rejected (`erased`) instead of registering them again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_coa_number",
        sa.Column("number_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("number_hash", name="pk_erased_coa_number"),
    )
    op.create_index("ix_erased_coa_number_expires_at", "erased_coa_number", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_erased_coa_number_expires_at", table_name="erased_coa_number")
    op.drop_table("erased_coa_number")
