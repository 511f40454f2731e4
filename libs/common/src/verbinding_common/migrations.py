"""Alembic support: a service's env.py calls run_migrations(metadata) and gets async online migrations."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from .db import asyncpg_url, backbone_metadata


def run_migrations(target_metadata: MetaData) -> None:
    """Migrate the database named by VERBINDING_DATABASE_URL: the service's tables and the backbone's."""
    metadata = [target_metadata, backbone_metadata]
    url = os.environ.get("VERBINDING_DATABASE_URL") or context.config.get_main_option("sqlalchemy.url")
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
