"""Create the visit table."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table("visit", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("visit")
