"""Job hunters, job seekers, employers, vacancies, placements, retention checks, and the backbone tables.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
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
        "employer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sector", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer")),
    )
    op.create_table(
        "job_hunter",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("joined_seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_hunter")),
        sa.UniqueConstraint("joined_seq", name=op.f("uq_job_hunter_joined_seq")),
        sa.UniqueConstraint("subject", name=op.f("uq_job_hunter_subject")),
    )
    op.create_table(
        "job_seeker",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("recognised_on", sa.Date(), nullable=True),
        sa.Column("gender", sa.String(length=8), nullable=True),
        sa.Column("languages", postgresql.ARRAY(sa.String(length=35)), nullable=False),
        sa.Column("education_level", sa.SmallInteger(), nullable=True),
        sa.Column("occupation", sa.String(length=4), nullable=True),
        sa.Column("years_of_experience", sa.SmallInteger(), nullable=True),
        sa.Column("dutch_level", sa.String(length=2), nullable=True),
        sa.Column("hours_wanted", sa.SmallInteger(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("case_manager_id", sa.Uuid(), nullable=True),
        sa.Column("case_closed_on", sa.Date(), nullable=True),
        sa.Column("job_hunter_id", sa.Uuid(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("education_level BETWEEN 0 AND 8", name=op.f("ck_job_seeker_education_level_isced")),
        sa.CheckConstraint("hours_wanted BETWEEN 1 AND 60", name=op.f("ck_job_seeker_hours_wanted_in_range")),
        sa.ForeignKeyConstraint(
            ["job_hunter_id"], ["job_hunter.id"], name=op.f("fk_job_seeker_job_hunter_id_job_hunter")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_job_seeker")),
    )
    op.create_index(op.f("ix_job_seeker_job_hunter_id"), "job_seeker", ["job_hunter_id"], unique=False)
    op.create_index(op.f("ix_job_seeker_recognised_on"), "job_seeker", ["recognised_on"], unique=False)
    op.create_table(
        "vacancy",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("employer_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("sector", sa.String(length=32), nullable=False),
        sa.Column("occupation", sa.String(length=4), nullable=False),
        sa.Column("education_level", sa.SmallInteger(), nullable=False),
        sa.Column("dutch_level", sa.String(length=2), nullable=False),
        sa.Column("years_of_experience", sa.SmallInteger(), nullable=False),
        sa.Column("hours_per_week", sa.SmallInteger(), nullable=False),
        sa.Column("contract_type", sa.String(length=16), nullable=False),
        sa.Column("duration_months", sa.SmallInteger(), nullable=True),
        sa.Column("location", sa.String(length=100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("openings", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "contract_type IN ('temporary', 'fixed_term', 'permanent')", name=op.f("ck_vacancy_contract_type_known")
        ),
        sa.CheckConstraint("hours_per_week BETWEEN 1 AND 60", name=op.f("ck_vacancy_hours_in_range")),
        sa.CheckConstraint("openings >= 0", name=op.f("ck_vacancy_openings_not_negative")),
        sa.ForeignKeyConstraint(["employer_id"], ["employer.id"], name=op.f("fk_vacancy_employer_id_employer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vacancy")),
    )
    op.create_index(op.f("ix_vacancy_employer_id"), "vacancy", ["employer_id"], unique=False)
    op.create_table(
        "placement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("employer_id", sa.Uuid(), nullable=False),
        sa.Column("vacancy_id", sa.Uuid(), nullable=True),
        sa.Column("contract_type", sa.String(length=16), nullable=False),
        sa.Column("hours_per_week", sa.SmallInteger(), nullable=False),
        sa.Column("sector", sa.String(length=32), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.CheckConstraint(
            "contract_type IN ('temporary', 'fixed_term', 'permanent')", name=op.f("ck_placement_contract_type_known")
        ),
        sa.CheckConstraint("(ended_on IS NULL) = (end_reason IS NULL)", name=op.f("ck_placement_end_has_reason")),
        sa.CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name=op.f("ck_placement_ends_after_start")),
        sa.CheckConstraint("hours_per_week BETWEEN 1 AND 60", name=op.f("ck_placement_hours_in_range")),
        sa.ForeignKeyConstraint(["employer_id"], ["employer.id"], name=op.f("fk_placement_employer_id_employer")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["job_seeker.person_id"], name=op.f("fk_placement_person_id_job_seeker")
        ),
        sa.ForeignKeyConstraint(["vacancy_id"], ["vacancy.id"], name=op.f("fk_placement_vacancy_id_vacancy")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement")),
    )
    op.create_index(op.f("ix_placement_person_id"), "placement", ["person_id"], unique=False)
    op.create_table(
        "retention_check",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("placement_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("months", sa.SmallInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            "(outcome IS NULL) = (recorded_at IS NULL)", name=op.f("ck_retention_check_outcome_recorded_with_time")
        ),
        sa.CheckConstraint("months IN (6, 12, 24)", name=op.f("ck_retention_check_months_known")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["job_seeker.person_id"], name=op.f("fk_retention_check_person_id_job_seeker")
        ),
        sa.ForeignKeyConstraint(
            ["placement_id"], ["placement.id"], name=op.f("fk_retention_check_placement_id_placement")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_check")),
        sa.UniqueConstraint("placement_id", "months", name="uq_retention_check_placement_id_months"),
    )
    op.create_index(
        "ix_retention_check_open",
        "retention_check",
        ["due_on"],
        unique=False,
        postgresql_where=sa.text("outcome IS NULL"),
    )
    op.create_index(op.f("ix_retention_check_person_id"), "retention_check", ["person_id"], unique=False)
    create_backbone_tables_v1()


def downgrade() -> None:
    drop_backbone_tables_v1()
    op.drop_index(op.f("ix_retention_check_person_id"), table_name="retention_check")
    op.drop_index("ix_retention_check_open", table_name="retention_check", postgresql_where=sa.text("outcome IS NULL"))
    op.drop_table("retention_check")
    op.drop_index(op.f("ix_placement_person_id"), table_name="placement")
    op.drop_table("placement")
    op.drop_index(op.f("ix_vacancy_employer_id"), table_name="vacancy")
    op.drop_table("vacancy")
    op.drop_index(op.f("ix_job_seeker_recognised_on"), table_name="job_seeker")
    op.drop_index(op.f("ix_job_seeker_job_hunter_id"), table_name="job_seeker")
    op.drop_table("job_seeker")
    op.drop_table("job_hunter")
    op.drop_table("employer")
