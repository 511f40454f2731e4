"""Alembic environment of the example ledger service: upgrade the database VERBINDING_DATABASE_URL names."""

import asyncio
import logging
import os

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

logging.basicConfig(level=logging.INFO, format="%(levelname)-5.5s [%(name)s] %(message)s")


def _upgrade(connection) -> None:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_async_engine(os.environ["VERBINDING_DATABASE_URL"])
    async with engine.connect() as connection:
        await connection.run_sync(_upgrade)
        await connection.commit()
    await engine.dispose()


asyncio.run(_main())
