"""Reports (contents sealed), messages, referral consents and referrals, the weekly tally, the audit, published
weeks, and the backbone tables.

Revision ID: 0001
Revises:
Create Date: 2026-12-02 15:53:09.985612
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from verbinding_common.audit import create_access_audit_table_v1
from verbinding_common.migrations import create_backbone_tables_v1, drop_backbone_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_access_audit_table_v1()
    op.create_table(
        "published_week",
        sa.Column("iso_week", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("iso_week", name=op.f("pk_published_week")),
    )
    op.create_table(
        "report",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reporter_role", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("part_of_day", sa.String(length=16), nullable=True),
        sa.Column("answer_language", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("iso_week", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("kek_id", sa.String(length=32), nullable=False),
        sa.Column("description_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("contact_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("receipt_lookup", sa.LargeBinary(), nullable=False),
        sa.Column("receipt_verifier", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("state IN ('new', 'in_progress', 'referred', 'closed')", name=op.f("ck_report_state_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
        sa.UniqueConstraint("receipt_lookup", name=op.f("uq_report_receipt_lookup")),
    )
    op.create_index("ix_report_state_closed_at", "report", ["state", "closed_at"], unique=False)
    op.create_table(
        "report_tally",
        sa.Column("iso_week", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("reports", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("iso_week", "category", "district", name=op.f("pk_report_tally")),
    )
    op.create_table(
        "referral_consent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("fields", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_referral_consent_report_id_report"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_consent")),
    )
    op.create_index(op.f("ix_referral_consent_report_id"), "referral_consent", ["report_id"], unique=False)
    op.create_table(
        "report_message",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_report_message_report_id_report"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_message")),
    )
    op.create_index(op.f("ix_report_message_report_id"), "report_message", ["report_id"], unique=False)
    op.create_table(
        "referral",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("consent_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("made_by", sa.String(length=128), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("package_sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["referral_consent.id"],
            name=op.f("fk_referral_consent_id_referral_consent"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_referral_report_id_report"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral")),
    )
    op.create_index(op.f("ix_referral_report_id"), "referral", ["report_id"], unique=False)
    create_backbone_tables_v1()


def downgrade() -> None:
    drop_backbone_tables_v1()
    op.drop_table("referral")
    op.drop_index(op.f("ix_report_message_report_id"), table_name="report_message")
    op.drop_table("report_message")
    op.drop_index(op.f("ix_referral_consent_report_id"), table_name="referral_consent")
    op.drop_table("referral_consent")
    op.drop_table("report_tally")
    op.drop_index("ix_report_state_closed_at", table_name="report")
    op.drop_table("report")
    op.drop_table("published_week")
    op.drop_index("ix_access_audit_record", table_name="access_audit")
    op.drop_table("access_audit")
