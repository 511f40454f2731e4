"""Who holds which case (from case-plan's events), and the access audit replacing the read audit (reads and
refused attempts, with their outcome).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from verbinding_common.audit import create_access_audit_table_v1

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_holder",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("case_manager_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('assigned', 'closed')", name=op.f("ck_case_holder_status_known")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_holder")),
        sa.UniqueConstraint("person_id", name=op.f("uq_case_holder_person_id")),
    )
    op.create_table(
        "case_manager",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_manager")),
    )
    op.create_index(op.f("ix_case_manager_subject"), "case_manager", ["subject"], unique=False)
    create_access_audit_table_v1()
    # The read audit's rows are kept: each was a read that was allowed.
    op.execute("INSERT INTO access_audit (at, subject, roles, team, action, record_kind, record_id, outcome) "
               "SELECT read_at, subject, roles, NULL, route, 'person', person_id, 'allowed' FROM read_audit "
               "ORDER BY id")
    op.drop_index(op.f("ix_read_audit_person_id"), table_name="read_audit")
    op.drop_table("read_audit")


def downgrade() -> None:
    from sqlalchemy.dialects import postgresql

    op.create_table(
        "read_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("route", sa.String(length=255), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_read_audit")),
    )
    op.create_index(op.f("ix_read_audit_person_id"), "read_audit", ["person_id"], unique=False)
    op.execute("INSERT INTO read_audit (subject, roles, person_id, route, read_at) SELECT subject, roles, "
               "record_id, action, at FROM access_audit WHERE record_kind = 'person' AND outcome = 'allowed' "
               "ORDER BY id")
    op.drop_index("ix_access_audit_record", table_name="access_audit")
    op.drop_table("access_audit")
    op.drop_index(op.f("ix_case_manager_subject"), table_name="case_manager")
    op.drop_table("case_manager")
    op.drop_table("case_holder")
