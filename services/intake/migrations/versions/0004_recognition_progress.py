"""The recognition status projection: how far each COA number got (rejected, registered, waitlisted, assigned,
closed), kept from events; filled from the persons and case holders intake already knows.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recognition_progress",
        sa.Column("coa_registration_number", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("stage", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('rejected', 'person_registered', 'waitlisted', 'case_manager_assigned', "
                           "'case_closed')", name=op.f("ck_recognition_progress_status_known")),
        sa.PrimaryKeyConstraint("coa_registration_number", name=op.f("pk_recognition_progress")),
        sa.UniqueConstraint("person_id", name=op.f("uq_recognition_progress_person_id")),
    )
    # Persons registered before: their case as intake knows it (a waitlisted case was never announced to intake
    # before this revision, so it shows as registered until case-plan assigns it).
    op.execute(
        "INSERT INTO recognition_progress (coa_registration_number, status, stage, person_id, case_id, taken_at, "
        "updated_at) "
        "SELECT p.coa_registration_number, "
        "CASE h.status WHEN 'assigned' THEN 'case_manager_assigned' WHEN 'closed' THEN 'case_closed' "
        "ELSE 'person_registered' END, "
        "CASE h.status WHEN 'assigned' THEN 3 WHEN 'closed' THEN 4 ELSE 1 END, "
        "p.id, h.case_id, p.registered_at, coalesce(h.updated_at, p.registered_at) "
        "FROM person p LEFT JOIN case_holder h ON h.person_id = p.id")


def downgrade() -> None:
    op.drop_table("recognition_progress")
