"""Intake's retention job: erase expired persons in batches (each batch its own transaction), sweep late copies,
purge what has its own retention."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from verbinding_common.jobs import Job, JobContext

from ..settings import IntakeSettings
from .service import Retention, erase_persons, expired_persons, purge_expired_records, sweep_erased

log = logging.getLogger(__name__)


def retention_of(settings: IntakeSettings) -> Retention:
    return Retention(person_days=settings.person_retention_days,
                     rejected_recognition_days=settings.rejected_recognition_retention_days,
                     access_audit_days=settings.access_audit_retention_days,
                     erased_number_days=settings.erased_coa_number_days)


async def apply_retention(context: JobContext, *, now: datetime | None = None) -> int:
    """One run: erase every expired person, a batch per transaction; returns how many were erased."""
    settings: IntakeSettings = context.settings  # type: ignore[assignment]
    now, retention, erased = now or datetime.now(UTC), retention_of(settings), 0
    pepper, remember_until = settings.erasure_pepper_bytes(), now + timedelta(days=retention.erased_number_days)
    while True:
        async with context.sessionmaker() as session, session.begin():
            batch = await expired_persons(session=session, today=now.date(), retention=retention,
                                          limit=settings.retention_batch_size)
            erased += len(await erase_persons(session=session, person_ids=batch, pepper=pepper,
                                              remember_numbers_until=remember_until))
        if len(batch) < settings.retention_batch_size:
            break
    async with context.sessionmaker() as session, session.begin():
        await sweep_erased(session=session)
        await purge_expired_records(session=session, now=now, retention=retention)
    if erased:
        log.info("retention: erased %d person(s)", erased)
    return erased


def retention_job(settings: IntakeSettings) -> Job:
    interval = settings.privacy_retention_interval_s
    return Job(name="retention", run=apply_retention, interval_s=interval, initial_delay_s=interval / 10,
               jitter_s=interval / 10)
