"""Case-plan's retention job: closed cases past their retention (a batch per transaction), the sweep of late
copies of erased persons, the access audit's own retention."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from verbinding_common.jobs import Job, JobContext

from ..settings import CasePlanSettings
from .service import erase_persons, persons_of_expired_cases, purge_access_audit, sweep_erased

log = logging.getLogger(__name__)


async def apply_retention(context: JobContext, *, now: datetime | None = None) -> int:
    """One run; returns how many cases were erased."""
    settings: CasePlanSettings = context.settings  # type: ignore[assignment]
    now, erased = now or datetime.now(UTC), 0
    while True:
        async with context.sessionmaker() as session, session.begin():
            batch = await persons_of_expired_cases(session=session, now=now,
                                                   retention_days=settings.closed_case_retention_days,
                                                   limit=settings.retention_batch_size)
            erased += await erase_persons(session=session, person_ids=batch, now=now)
        if len(batch) < settings.retention_batch_size:
            break
    async with context.sessionmaker() as session, session.begin():
        erased += await sweep_erased(session=session, now=now)
        await purge_access_audit(session=session, now=now, retention_days=settings.access_audit_retention_days)
    if erased:
        log.info("retention: erased %d case(s)", erased)
    return erased


def retention_job(settings: CasePlanSettings) -> Job:
    interval = settings.privacy_retention_interval_s
    return Job(name="retention", run=apply_retention, interval_s=interval, initial_delay_s=interval / 10,
               jitter_s=interval / 10)
