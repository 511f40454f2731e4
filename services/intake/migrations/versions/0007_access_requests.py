"""Access requests (GDPR Art. 15) and each service's answer, kept until the export expires.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name="fk_access_request_person_id_person",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_access_request"),
    )
    op.create_index("ix_access_request_person_id", "access_request", ["person_id"], unique=False)
    op.create_index("ix_access_request_expires_at", "access_request", ["expires_at"], unique=False)
    op.create_table(
        "access_answer",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("records", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["access_request.id"],
                                name="fk_access_answer_request_id_access_request", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "service", name="pk_access_answer"),
    )


def downgrade() -> None:
    op.drop_table("access_answer")
    op.drop_index("ix_access_request_expires_at", table_name="access_request")
    op.drop_index("ix_access_request_person_id", table_name="access_request")
    op.drop_table("access_request")
