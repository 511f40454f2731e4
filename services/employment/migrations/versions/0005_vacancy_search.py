"""Vacancies get a district and a closing day; indexes for paging the list newest first.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("vacancy", sa.Column("district", sa.String(length=16), nullable=True))
    op.add_column("vacancy", sa.Column("closed_on", sa.Date(), nullable=True))
    op.create_index("ix_vacancy_listing", "vacancy", ["created_at", "id"], unique=False)
    op.create_index("ix_vacancy_open_listing", "vacancy", ["created_at", "id"], unique=False,
                    postgresql_where=sa.text("closed_on IS NULL AND openings > 0"))


def downgrade() -> None:
    op.drop_index("ix_vacancy_open_listing", table_name="vacancy", postgresql_where=sa.text(
        "closed_on IS NULL AND openings > 0"))
    op.drop_index("ix_vacancy_listing", table_name="vacancy")
    op.drop_column("vacancy", "closed_on")
    op.drop_column("vacancy", "district")
