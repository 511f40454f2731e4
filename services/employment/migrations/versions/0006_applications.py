"""Applications between a match and a placement: one per job seeker and vacancy, its stage and furthest stage.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "application",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("vacancy_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("furthest", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("stepped_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("furthest BETWEEN 0 AND 4", name=op.f("ck_application_furthest_in_pipeline")),
        sa.CheckConstraint("(reason IS NULL) = (stage NOT IN ('rejected', 'withdrawn'))",
                           name=op.f("ck_application_ending_has_reason")),
        sa.ForeignKeyConstraint(["person_id"], ["job_seeker.person_id"],
                                name=op.f("fk_application_person_id_job_seeker")),
        sa.ForeignKeyConstraint(["vacancy_id"], ["vacancy.id"], name=op.f("fk_application_vacancy_id_vacancy")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application")),
        sa.UniqueConstraint("person_id", "vacancy_id", name="uq_application_person_id_vacancy_id"),
    )
    op.create_index(op.f("ix_application_person_id"), "application", ["person_id"], unique=False)
    op.create_index(op.f("ix_application_vacancy_id"), "application", ["vacancy_id"], unique=False)
    op.create_table(
        "application_step",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("stepped_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"],
                                name=op.f("fk_application_step_application_id_application")),
        sa.PrimaryKeyConstraint("application_id", "stage", name=op.f("pk_application_step")),
    )


def downgrade() -> None:
    op.drop_table("application_step")
    op.drop_index(op.f("ix_application_vacancy_id"), table_name="application")
    op.drop_index(op.f("ix_application_person_id"), table_name="application")
    op.drop_table("application")
