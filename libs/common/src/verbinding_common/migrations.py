"""Alembic support: a service's env.py calls run_migrations(Base.metadata, models_of=package) for async migrations."""

from __future__ import annotations

import asyncio
import importlib
import os
import pkgutil

from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from .db import asyncpg_url, backbone_metadata
from .settings import secret_setting


def run_migrations(target_metadata: MetaData, *, models_of: str | None = None) -> None:
    """Migrate the database named by VERBINDING_DATABASE_URL: the service's tables and the backbone's.

    `models_of` names the service's package: every `models` module in it is imported first, so each table is on
    `target_metadata` without env.py listing them.
    """
    if models_of is not None:
        import_models(models_of)
    metadata = [target_metadata, backbone_metadata]
    url = (os.environ.get("VERBINDING_DATABASE_URL") or secret_setting("database_url")
           or context.config.get_main_option("sqlalchemy.url"))
    if not url:
        raise RuntimeError("set VERBINDING_DATABASE_URL to the service's database")
    if context.is_offline_mode():
        context.configure(url=asyncpg_url(url), target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(asyncpg_url(url), poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(main())


def import_models(package: str) -> list[str]:
    """Import every `models` module of `package` (its domain concepts' tables); returns their names."""
    root = importlib.import_module(package)
    names = [info.name for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")
             if info.name.rsplit(".", 1)[-1] == "models"]
    for name in names:
        importlib.import_module(name)
    return names


def create_backbone_tables_v1() -> None:
    """The backbone tables as of v1 (outbox, relay state, processed events), for a service's initial migration.

    A frozen snapshot, like any migration: a later change to the backbone gets a v2 step of its own.
    """
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("traceparent", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["id"], unique=False,
                    postgresql_where=sa.text("published_at IS NULL"))
    op.create_table(
        "outbox_relay_state",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("broker_epoch", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_outbox_relay_state"),
    )
    op.create_table(
        "processed_event",
        sa.Column("consumer_group", sa.String(128), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("consumer_group", "event_id", name="pk_processed_event"),
    )


def drop_backbone_tables_v1() -> None:
    from alembic import op

    op.drop_table("processed_event")
    op.drop_table("outbox_relay_state")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")


def create_idempotency_key_table_v1() -> None:
    """The idempotency_key table as of v1 (verbinding_common.idempotency), for a service's migration (a frozen
    snapshot: a later change gets a step of its own)."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql

    op.create_table(
        "idempotency_key",
        sa.Column("lookup", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lookup", name="pk_idempotency_key"),
    )
    op.create_index("ix_idempotency_key_expires_at", "idempotency_key", ["expires_at"], unique=False)


def drop_idempotency_key_table_v1() -> None:
    from alembic import op

    op.drop_index("ix_idempotency_key_expires_at", table_name="idempotency_key")
    op.drop_table("idempotency_key")
