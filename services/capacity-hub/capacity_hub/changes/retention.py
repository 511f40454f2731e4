"""Retention: capacity changes and delivery attempts older than their period are purged, in batches.

Each shelter's latest change stays whatever its age (the stream's snapshot is made of them). An endpoint that was
disabled or paused for longer than the log's retention cannot be replayed past what is left.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from verbinding_common.jobs import Job, JobContext

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


async def purge_past_retention(*, sessionmaker: async_sessionmaker[AsyncSession],
                               settings: CapacityHubSettings) -> tuple[int, int]:
    """Purge the changes and attempts past retention, a batch per transaction, until none is left; (changes,
    attempts) purged."""
    now = datetime.now(UTC)
    totals = []
    for purge, days in ((purge_capacity_log, settings.capacity_log_retention_days),
                        (purge_attempts, settings.webhook_attempt_retention_days)):
        total = 0
        while True:
            async with sessionmaker() as session, session.begin():
                purged = await purge(session=session, before=now - timedelta(days=days), batch=settings.retention_batch)
            total += purged
            if purged < settings.retention_batch:  # each batch's round trips let deliveries and streams run
                break
        totals.append(total)
    return totals[0], totals[1]


def capacity_retention(settings: CapacityHubSettings) -> Job:
    """Purge past retention at start-up and then every `retention_interval_s`; safe on every replica at once."""

    async def purge(context: JobContext) -> None:
        changes, attempts = await purge_past_retention(sessionmaker=context.sessionmaker, settings=settings)
        if changes or attempts:
            log.info("purged %d capacity change(s) and %d webhook attempt(s) past retention", changes, attempts)

    return Job(name="capacity-retention", run=purge, interval_s=settings.retention_interval_s)
