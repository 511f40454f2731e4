"""The periodic job that fires stay warnings as they come due (the due rows live in `stay_warning`)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from verbinding_common.jobs import Job, JobContext

from ..settings import ShelterPlacementSettings
from .service import fire_due_warnings

log = logging.getLogger(__name__)


async def fire_warnings(*, sessionmaker: async_sessionmaker[AsyncSession], today: date) -> int:
    """Fire the warnings due by `today`, one batch per transaction until none is left (any replica may run it at
    the same time: each warning fires once); how many fired."""
    fired = 0
    while batch := await _fire_batch(sessionmaker=sessionmaker, today=today):
        fired += batch
    return fired


async def _fire_batch(*, sessionmaker: async_sessionmaker[AsyncSession], today: date) -> int:
    async with sessionmaker() as session, session.begin():
        return await fire_due_warnings(session=session, today=today)


def stay_warnings(settings: ShelterPlacementSettings) -> Job:
    """Every `stay_warning_check_interval_s`, fire the warnings due by today."""

    async def fire(context: JobContext) -> None:
        if fired := await fire_warnings(sessionmaker=context.sessionmaker, today=datetime.now(UTC).date()):
            log.info("fired %d stay warning(s)", fired)

    return Job(name="stay-warnings", run=fire, interval_s=settings.stay_warning_check_interval_s)
