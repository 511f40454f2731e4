"""Receipts are kept only as long as the COA may still look a recognition up: older ones are purged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .models import CoaReceipt

log = logging.getLogger(__name__)


async def purge_receipts(*, session: AsyncSession, retention: timedelta) -> int:
    """Delete the receipts older than `retention`; how many went."""
    result = await session.execute(delete(CoaReceipt).where(CoaReceipt.last_received_at < func.now() - retention))
    return result.rowcount or 0  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def purging_receipts(sessionmaker: async_sessionmaker[AsyncSession], *, retention: timedelta,
                           every_s: float) -> AsyncIterator[None]:
    """Purge old receipts now and every `every_s` seconds while the block runs."""

    async def loop() -> None:
        while True:
            try:
                async with sessionmaker() as session, session.begin():
                    await purge_receipts(session=session, retention=retention)
            except Exception as exc:  # an outage: try again next round
                log.warning("receipt purge failed (%s); trying again later", type(exc).__name__)
            await asyncio.sleep(every_s)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
