"""Retention: capacity changes and delivery attempts older than their period are purged, in batches.

Each shelter's latest change stays whatever its age (the stream's snapshot is made of them). An endpoint that was
disabled or paused for longer than the log's retention cannot be replayed past what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from ..settings import CapacityHubSettings
from ..webhooks.models import WebhookAttempt
from .models import CapacityChange

log = logging.getLogger(__name__)


async def purge_capacity_log(*, session: AsyncSession, before: datetime, batch: int) -> int:
    """Delete up to `batch` changes logged before `before`, but a shelter's latest; the number deleted."""
    later = aliased(CapacityChange)
    old = (select(CapacityChange.position)
           .where(CapacityChange.received_at < before,
                  select(later.position).where(later.shelter_id == CapacityChange.shelter_id,
                                               later.position > CapacityChange.position).exists())
           .order_by(CapacityChange.position).limit(batch))
    result = await session.execute(delete(CapacityChange).where(CapacityChange.position.in_(old.scalar_subquery())))
    return result.rowcount or 0


async def purge_attempts(*, session: AsyncSession, before: datetime, batch: int) -> int:
    """Delete up to `batch` delivery attempts made before `before`; the number deleted."""
    old = select(WebhookAttempt.id).where(WebhookAttempt.attempted_at < before).order_by(WebhookAttempt.id) \
        .limit(batch)
    result = await session.execute(delete(WebhookAttempt).where(WebhookAttempt.id.in_(old.scalar_subquery())))
    return result.rowcount or 0


class RetentionPurge:
    """Purges past retention now and then every `retention_interval_s`, a batch per transaction, until nothing is
    left; start() and stop() are its whole life."""

    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], settings: CapacityHubSettings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="capacity-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def purge_once(self) -> tuple[int, int]:
        """(changes, attempts) purged."""
        now = datetime.now(UTC)
        totals = []
        for purge, days in ((purge_capacity_log, self.settings.capacity_log_retention_days),
                            (purge_attempts, self.settings.webhook_attempt_retention_days)):
            total = 0
            while True:
                async with self.sessionmaker() as session, session.begin():
                    purged = await purge(session=session, before=now - timedelta(days=days),
                                         batch=self.settings.retention_batch)
                total += purged
                if purged < self.settings.retention_batch:
                    break
                await asyncio.sleep(0)  # let deliveries and streams run between batches
            totals.append(total)
        return totals[0], totals[1]

    async def _run(self) -> None:
        while True:
            try:
                changes, attempts = await self.purge_once()
                if changes or attempts:
                    log.info("purged %d capacity change(s) and %d webhook attempt(s) past retention", changes,
                             attempts)
            except Exception as exc:
                log.warning("capacity retention failed (%s); trying again later", type(exc).__name__)
            await asyncio.sleep(self.settings.retention_interval_s)
