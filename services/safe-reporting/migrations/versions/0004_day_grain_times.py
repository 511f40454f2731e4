"""Times of reports, messages, consents and referrals at the day's grain: defaults and the rows already stored.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_DAY = "date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_COLUMNS = {"report": ["created_at", "closed_at"], "report_message": ["created_at"],
            "referral_consent": ["given_at", "withdrawn_at", "used_at"], "referral": ["made_at"]}
_DEFAULTED = {("report", "created_at"), ("report_message", "created_at"), ("referral_consent", "given_at"),
              ("referral", "made_at")}


def upgrade() -> None:
    for table, columns in _COLUMNS.items():
        for column in columns:
            if (table, column) in _DEFAULTED:
                op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {_DAY}")
            op.execute(f"UPDATE {table} SET {column} = date_trunc('day', {column} AT TIME ZONE 'UTC') "
                       f"AT TIME ZONE 'UTC' WHERE {column} IS NOT NULL")


def downgrade() -> None:
    for table, column in _DEFAULTED:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT now()")
