"""The capacity log, webhook endpoints (secrets sealed) and their attempts, idempotency keys, and the backbone tables
(the capacity log and endpoints move here from the gateway's database: endpoints register anew, the log refills from
`shelter.capacity.v1`).

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from verbinding_common.migrations import (
    create_backbone_tables_v1,
    create_idempotency_key_table_v1,
    drop_backbone_tables_v1,
    drop_idempotency_key_table_v1,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capacity_change",
        sa.Column("position", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("shelter_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("programme", sa.String(length=16), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("traceparent", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_capacity_change")),
        sa.UniqueConstraint("event_id", name=op.f("uq_capacity_change_event_id")),
        sa.UniqueConstraint("shelter_id", "sequence", name="uq_capacity_change_shelter_sequence"),
    )
    op.create_index(op.f("ix_capacity_change_shelter_id"), "capacity_change", ["shelter_id"], unique=False)
    op.create_index(op.f("ix_capacity_change_received_at"), "capacity_change", ["received_at"], unique=False)
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation", sa.String(length=128), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("programmes", postgresql.ARRAY(sa.String(length=16)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("shelter_ids", postgresql.ARRAY(sa.Uuid()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("kek_id", sa.String(length=32), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'active'"), nullable=False),
        sa.Column("disabled_reason", sa.String(length=300), nullable=True),
        sa.Column("cursor", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("replays", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("lease_owner", sa.Uuid(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    op.create_index(op.f("ix_webhook_endpoint_organisation"), "webhook_endpoint", ["organisation"], unique=False)
    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoint.id"],
                                name=op.f("fk_webhook_attempt_endpoint_id_webhook_endpoint"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    op.create_index(op.f("ix_webhook_attempt_endpoint_id"), "webhook_attempt", ["endpoint_id"], unique=False)
    op.create_index(op.f("ix_webhook_attempt_attempted_at"), "webhook_attempt", ["attempted_at"], unique=False)
    create_idempotency_key_table_v1()
    create_backbone_tables_v1()


def downgrade() -> None:
    drop_backbone_tables_v1()
    drop_idempotency_key_table_v1()
    op.drop_index(op.f("ix_webhook_attempt_attempted_at"), table_name="webhook_attempt")
    op.drop_index(op.f("ix_webhook_attempt_endpoint_id"), table_name="webhook_attempt")
    op.drop_table("webhook_attempt")
    op.drop_index(op.f("ix_webhook_endpoint_organisation"), table_name="webhook_endpoint")
    op.drop_table("webhook_endpoint")
    op.drop_index(op.f("ix_capacity_change_received_at"), table_name="capacity_change")
    op.drop_index(op.f("ix_capacity_change_shelter_id"), table_name="capacity_change")
    op.drop_table("capacity_change")
