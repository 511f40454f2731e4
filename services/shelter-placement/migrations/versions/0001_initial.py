"""Shelters, residents, placements (with the waitlist index), stay warnings, the access audit, the backbone tables.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
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
    op.create_table(
        "resident",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=False),
        sa.Column("programme", sa.String(length=16), nullable=False),
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("year_of_birth", sa.SmallInteger(), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.String(length=35)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("vulnerability", sa.String(length=16), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("programme IN ('lvv', 'dublin', 'emergency')", name=op.f("ck_resident_programme_known")),
        sa.CheckConstraint(
            "vulnerability IN ('acute', 'high', 'elevated', 'standard')", name=op.f("ck_resident_vulnerability_known")
        ),
        sa.CheckConstraint("year_of_birth BETWEEN 1900 AND 2100", name=op.f("ck_resident_year_of_birth_plausible")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident")),
        sa.UniqueConstraint("operator", "pseudonym", name="uq_resident_operator_pseudonym"),
    )
    # Occupancy never above capacity, under any concurrency: the database checks it.
    op.create_table(
        "shelter",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("neighbourhood", sa.String(length=120), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=False),
        sa.Column("programme", sa.String(length=16), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("occupied", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'planned'"), nullable=False),
        sa.Column("consulted_on", sa.Date(), nullable=True),
        sa.Column("consultation_reference", sa.String(length=120), nullable=True),
        sa.Column("sequence", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("programme IN ('lvv', 'dublin', 'emergency')", name=op.f("ck_shelter_programme_known")),
        sa.CheckConstraint(
            "status = 'planned' OR consulted_on IS NOT NULL", name=op.f("ck_shelter_consulted_before_opening")
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'consulted', 'open', 'closing', 'closed')", name=op.f("ck_shelter_status_known")
        ),
        sa.CheckConstraint("capacity BETWEEN 0 AND 500", name=op.f("ck_shelter_capacity_in_range")),
        sa.CheckConstraint("occupied <= capacity", name=op.f("ck_shelter_occupied_within_capacity")),
        sa.CheckConstraint("occupied >= 0", name=op.f("ck_shelter_occupied_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelter")),
        sa.UniqueConstraint("created_seq", name=op.f("uq_shelter_created_seq")),
    )
    op.create_index(op.f("ix_shelter_operator"), "shelter", ["operator"], unique=False)
    op.create_table(
        "placement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resident_id", sa.Uuid(), nullable=False),
        sa.Column("programme", sa.String(length=16), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("request_seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shelter_id", sa.Uuid(), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("case_manager", sa.String(length=128), nullable=True),
        sa.Column("case_manager_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'waitlisted' AND shelter_id IS NULL) OR (status <> 'waitlisted' AND "
            "shelter_id IS NOT NULL AND started_on IS NOT NULL AND ends_on IS NOT NULL)",
            name=op.f("ck_placement_placed_has_shelter_and_dates"),
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('legal_residence', 'onward_migration', 'return', 'other')",
            name=op.f("ck_placement_outcome_known"),
        ),
        sa.CheckConstraint("status IN ('waitlisted', 'placed', 'ended')", name=op.f("ck_placement_status_known")),
        sa.CheckConstraint("ends_on IS NULL OR ends_on > started_on", name=op.f("ck_placement_ends_after_start")),
        sa.ForeignKeyConstraint(["resident_id"], ["resident.id"], name=op.f("fk_placement_resident_id_resident")),
        sa.ForeignKeyConstraint(["shelter_id"], ["shelter.id"], name=op.f("fk_placement_shelter_id_shelter")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement")),
        sa.UniqueConstraint("request_seq", name=op.f("uq_placement_request_seq")),
    )
    op.create_index(op.f("ix_placement_shelter_id"), "placement", ["shelter_id"], unique=False)
    op.create_index(
        "ix_placement_waitlist",
        "placement",
        ["programme", "operator", "priority", "request_seq"],
        unique=False,
        postgresql_where=sa.text("status = 'waitlisted'"),
    )
    op.create_index(
        "uq_placement_active_resident",
        "placement",
        ["resident_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('waitlisted', 'placed')"),
    )
    op.create_table(
        "stay_warning",
        sa.Column("placement_id", sa.Uuid(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["placement_id"], ["placement.id"], name=op.f("fk_stay_warning_placement_id_placement")
        ),
        sa.PrimaryKeyConstraint("placement_id", name=op.f("pk_stay_warning")),
    )
    op.create_index(
        "ix_stay_warning_due", "stay_warning", ["due_on"], unique=False, postgresql_where=sa.text("fired_at IS NULL")
    )
    create_access_audit_table_v1()
    create_backbone_tables_v1()


def downgrade() -> None:
    drop_backbone_tables_v1()
    op.drop_table("access_audit")
    op.drop_index("ix_stay_warning_due", table_name="stay_warning", postgresql_where=sa.text("fired_at IS NULL"))
    op.drop_table("stay_warning")
    op.drop_index(
        "uq_placement_active_resident",
        table_name="placement",
        postgresql_where=sa.text("status IN ('waitlisted', 'placed')"),
    )
    op.drop_index("ix_placement_waitlist", table_name="placement", postgresql_where=sa.text("status = 'waitlisted'"))
    op.drop_index(op.f("ix_placement_shelter_id"), table_name="placement")
    op.drop_table("placement")
    op.drop_index(op.f("ix_shelter_operator"), table_name="shelter")
    op.drop_table("shelter")
    op.drop_table("resident")
