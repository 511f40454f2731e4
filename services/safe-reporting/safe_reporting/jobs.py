"""safe-reporting's own schedule: publish changed weekly statistics, purge closed reports past retention."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .reports.service import purge_closed_reports
from .settings import SafeReportingSettings
from .statistics.service import publish_changed_weeks, recent_weeks

log = logging.getLogger(__name__)


async def publish_statistics(sessionmaker: async_sessionmaker[AsyncSession], settings: SafeReportingSettings) -> None:
    async with sessionmaker() as session, session.begin():
        weeks = await publish_changed_weeks(session=session, weeks=recent_weeks(settings.statistics_weeks))
    if weeks:
        log.info("statistics published for %d week(s)", len(weeks))


async def purge(sessionmaker: async_sessionmaker[AsyncSession], settings: SafeReportingSettings) -> None:
    async with sessionmaker() as session, session.begin():
        purged = await purge_closed_reports(
            session=session, retention=timedelta(days=settings.closed_report_retention_days))
    if purged:
        log.info("purged %d closed report(s) past retention", purged)


async def every(interval_s: float, job: Callable[[], Awaitable[None]], name: str) -> None:
    """Run `job` now and then every `interval_s`; a failure is logged by type only and tried again next time."""
    while True:
        try:
            await job()
        except Exception as exc:
            log.warning("%s failed (%s); trying again in %.0f s", name, type(exc).__name__, interval_s)
        await asyncio.sleep(interval_s)
