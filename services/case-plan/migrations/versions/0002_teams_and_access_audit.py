"""Case managers belong to a team; the access audit (who read or was refused which case or plan).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from verbinding_common.audit import create_access_audit_table_v1

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("case_manager", sa.Column("team", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_case_manager_team"), "case_manager", ["team"], unique=False)
    create_access_audit_table_v1()


def downgrade() -> None:
    op.drop_index("ix_access_audit_record", table_name="access_audit")
    op.drop_table("access_audit")
    op.drop_index(op.f("ix_case_manager_team"), table_name="case_manager")
    op.drop_column("case_manager", "team")
