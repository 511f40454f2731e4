"""The gateway no longer reads intake's dead letters: rejections are intake's events, the status is intake's
projection (intake revision 0004). The rejections learnt from dead letters go with their table.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("coa_rejection")


def downgrade() -> None:
    op.create_table(
        "coa_rejection",
        sa.Column("coa_registration_number", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("rejected_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("coa_registration_number", name=op.f("pk_coa_rejection")),
    )
