"""Who serves each person as their job hunter (from employment's events): the only reader of the working name.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "serving_job_hunter",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("job_hunter_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_serving_job_hunter")),
    )
    op.create_index(op.f("ix_serving_job_hunter_subject"), "serving_job_hunter", ["subject"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_serving_job_hunter_subject"), table_name="serving_job_hunter")
    op.drop_table("serving_job_hunter")
