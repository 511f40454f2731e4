"""The periodic job that fires stay warnings as they come due (the due rows live in `stay_warning`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .service import fire_due_warnings

log = logging.getLogger(__name__)


class WarningJob:
    """Every `interval_s`, fires the warnings due by today in one transaction (any replica may run one)."""

    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession], interval_s: float,
                 today: Callable[[], date] = lambda: datetime.now(UTC).date()) -> None:
        self.sessionmaker = sessionmaker
        self.interval_s = interval_s
        self.today = today
        self.fired = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="stay-warnings")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> int:
        async with self.sessionmaker() as session, session.begin():
            fired = await fire_due_warnings(session=session, today=self.today())
        self.fired += fired
        return fired

    async def _run(self) -> None:
        while True:
            try:
                while await self.run_once():
                    pass
            except Exception as exc:  # an outage: try again next round
                log.warning("stay warnings not checked: %s", type(exc).__name__)
            await asyncio.sleep(self.interval_s)
