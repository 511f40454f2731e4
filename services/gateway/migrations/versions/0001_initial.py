"""The gateway's COA receipts, and the backbone tables (outbox, relay state, processed events).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from verbinding_common.migrations import create_backbone_tables_v1, drop_backbone_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coa_receipt",
        sa.Column("coa_registration_number", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("first_received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("last_received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("deliveries", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("coa_registration_number", name=op.f("pk_coa_receipt")),
    )
    create_backbone_tables_v1()


def downgrade() -> None:
    drop_backbone_tables_v1()
    op.drop_table("coa_receipt")
