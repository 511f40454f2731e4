"""safe-reporting's own schedule: publish changed weekly statistics, purge closed reports past retention and spent
guess windows."""

from __future__ import annotations

import logging
from datetime import timedelta

from verbinding_common.jobs import Job, JobContext
from verbinding_common.limits import shared_limits_purge

from .reports.service import close_inactive_reports, purge_closed_reports
from .settings import SafeReportingSettings
from .statistics.service import closed_weeks, publish_changed_weeks

log = logging.getLogger(__name__)


def scheduled(settings: SafeReportingSettings) -> list[Job]:
    """Each on its own interval; any replica may run them at the same time."""

    async def publish_statistics(context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            weeks = await publish_changed_weeks(session=session, weeks=closed_weeks(settings.statistics_weeks))
        if weeks:
            log.info("statistics published for %d week(s)", len(weeks))

    async def purge(context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            closed = await close_inactive_reports(session=session,
                                                  inactive_for=timedelta(days=settings.inactive_report_days))
        if closed:
            log.info("closed %d report(s) without activity", closed)
        async with context.sessionmaker() as session, session.begin():
            purged = await purge_closed_reports(
                session=session, retention=timedelta(days=settings.closed_report_retention_days))
        if purged:
            log.info("purged %d closed report(s) past retention", purged)

    return [Job(name="weekly-statistics", run=publish_statistics, interval_s=settings.statistics_interval_s),
            Job(name="closed-report-purge", run=purge, interval_s=settings.purge_interval_s),
            shared_limits_purge()]
