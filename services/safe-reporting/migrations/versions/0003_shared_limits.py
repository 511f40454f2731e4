"""The buckets of the limits every safe-reporting replica shares: the receipt-guess budget (per prefix).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from verbinding_common.limits import create_rate_limit_table_v1, drop_rate_limit_table_v1

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_rate_limit_table_v1()


def downgrade() -> None:
    drop_rate_limit_table_v1()
