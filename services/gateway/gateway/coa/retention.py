"""Receipts are kept only as long as the COA may still look a recognition up: older ones are purged."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession

from .models import CoaReceipt

log = logging.getLogger(__name__)


async def purge_receipts(*, session: AsyncSession, retention: timedelta) -> int:
    """Delete the receipts older than `retention`; how many went."""
    result = await session.execute(delete(CoaReceipt).where(CoaReceipt.last_received_at < func.now() - retention))
    return result.rowcount or 0  # type: ignore[attr-defined]
