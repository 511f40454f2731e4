"""The access audit: every read of a job seeker, and every refused attempt.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from alembic import op

from verbinding_common.audit import create_access_audit_table_v1

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_access_audit_table_v1()


def downgrade() -> None:
    op.drop_index("ix_access_audit_record", table_name="access_audit")
    op.drop_table("access_audit")
