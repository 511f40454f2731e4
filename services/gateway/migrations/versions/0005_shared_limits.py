"""The buckets of the limits every gateway replica shares: failed token requests and anonymous reports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from verbinding_common.limits import create_rate_limit_table_v1, drop_rate_limit_table_v1

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_rate_limit_table_v1()


def downgrade() -> None:
    drop_rate_limit_table_v1()
