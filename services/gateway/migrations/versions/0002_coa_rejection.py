"""COA recognitions intake could not take in (learnt from its dead letters).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coa_rejection",
        sa.Column("coa_registration_number", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("rejected_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("coa_registration_number", name=op.f("pk_coa_rejection")),
    )


def downgrade() -> None:
    op.drop_table("coa_rejection")
