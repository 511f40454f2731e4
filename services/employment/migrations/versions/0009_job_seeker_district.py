"""Job seekers get the district they live in, as their job hunter records it (matching prefers nearer work).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job_seeker", sa.Column("district", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("job_seeker", "district")
