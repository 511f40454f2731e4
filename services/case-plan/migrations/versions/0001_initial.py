"""Case managers, cases (with the waitlist index), action-plan versions and objectives, and the backbone tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from verbinding_common.migrations import create_backbone_tables_v1, drop_backbone_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_manager",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.String(length=35)), server_default=sa.text("'{}'"),
                  nullable=False),
        sa.Column("capacity", sa.Integer(), server_default=sa.text("50"), nullable=False),
        sa.Column("active_cases", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("joined_seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        # At most 50 people per case manager (docs/domain.md), under any concurrency: the database checks it.
        sa.CheckConstraint("active_cases <= capacity", name=op.f("ck_case_manager_active_cases_within_capacity")),
        sa.CheckConstraint("active_cases >= 0", name=op.f("ck_case_manager_active_cases_not_negative")),
        sa.CheckConstraint("capacity BETWEEN 1 AND 50", name=op.f("ck_case_manager_capacity_between_1_and_50")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_manager")),
        sa.UniqueConstraint("joined_seq", name=op.f("uq_case_manager_joined_seq")),
        sa.UniqueConstraint("subject", name=op.f("uq_case_manager_subject")),
    )
    op.create_table(
        "case",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("languages", postgresql.ARRAY(sa.String(length=35)), server_default=sa.text("'{}'"),
                  nullable=False),
        sa.Column("recognised_on", sa.Date(), nullable=False),
        sa.Column("support_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("case_manager_id", sa.Uuid(), nullable=True),
        sa.Column("arrival_seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(status = 'assigned' AND case_manager_id IS NOT NULL)"
            " OR (status = 'waitlisted' AND case_manager_id IS NULL) OR status = 'closed'",
            name=op.f("ck_case_assigned_has_manager_waitlisted_has_none")),
        sa.CheckConstraint("status IN ('assigned', 'waitlisted', 'closed')", name=op.f("ck_case_status_known")),
        sa.CheckConstraint("support_until > recognised_on", name=op.f("ck_case_support_after_recognition")),
        sa.ForeignKeyConstraint(["case_manager_id"], ["case_manager.id"],
                                name=op.f("fk_case_case_manager_id_case_manager")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case")),
        sa.UniqueConstraint("arrival_seq", name=op.f("uq_case_arrival_seq")),
        sa.UniqueConstraint("person_id", name=op.f("uq_case_person_id")),
    )
    op.create_index(op.f("ix_case_case_manager_id"), "case", ["case_manager_id"], unique=False)
    op.create_index("ix_case_waitlist", "case", ["recognised_on", "arrival_seq"], unique=False,
                    postgresql_where=sa.text("status = 'waitlisted'"))
    op.create_table(
        "action_plan",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("(approved_by IS NULL) = (approved_at IS NULL)",
                           name=op.f("ck_action_plan_approval_complete")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_action_plan_version_positive")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_action_plan_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_plan")),
        sa.UniqueConstraint("case_id", "version", name="uq_action_plan_case_id_version"),
    )
    op.create_table(
        "objective",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("action_plan_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("term", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint("domain IN ('work', 'education', 'health_care', 'housing', 'participation', 'language')",
                           name=op.f("ck_objective_domain_known")),
        sa.CheckConstraint("status IN ('planned', 'active', 'achieved', 'dropped')",
                           name=op.f("ck_objective_status_known")),
        sa.CheckConstraint("term IN ('short_term', 'long_term')", name=op.f("ck_objective_term_known")),
        sa.ForeignKeyConstraint(["action_plan_id"], ["action_plan.id"],
                                name=op.f("fk_objective_action_plan_id_action_plan"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective")),
        sa.UniqueConstraint("action_plan_id", "position", name="uq_objective_action_plan_id_position"),
    )

    create_backbone_tables_v1()


def downgrade() -> None:
    drop_backbone_tables_v1()
    op.drop_table("objective")
    op.drop_table("action_plan")
    op.drop_index("ix_case_waitlist", table_name="case", postgresql_where=sa.text("status = 'waitlisted'"))
    op.drop_index(op.f("ix_case_case_manager_id"), table_name="case")
    op.drop_table("case")
    op.drop_table("case_manager")
