"""Key rotation's second half: re-wrap every report's data key under the current key-encryption key (resumable).

After a new `VERBINDING_REPORT_KEY`/`_ID` is set and the old key kept in `VERBINDING_PREVIOUS_REPORT_KEYS`, run
`python -m safe_reporting.rewrap` (same settings as the service). It takes reports still wrapped by another key in
batches, each in a transaction of its own (`FOR UPDATE SKIP LOCKED`, so the running service and a second copy of the
command are never blocked), unwraps each data key with the key its row names and wraps it again with the current one.
Contents are not touched (they are sealed by the data key, which stays the same). Stopped at any point, it resumes
where it stood: the next run finds only the rows still wrapped by an old key. Once it reports 0 left, the old key
can be dropped from `VERBINDING_PREVIOUS_REPORT_KEYS`.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from verbinding_common import sealing
from verbinding_common.db import create_engine

from .reports.models import Report
from .settings import SafeReportingSettings

log = logging.getLogger(__name__)


async def rewrap_data_keys(*, sessionmaker: async_sessionmaker[AsyncSession], keyring: sealing.Keyring,
                           batch: int = 100, max_batches: int | None = None) -> int:
    """Re-wrap data keys not under the keyring's current key, `batch` per transaction; how many were re-wrapped."""
    done, batches = 0, 0
    while max_batches is None or batches < max_batches:
        async with sessionmaker() as session, session.begin():
            reports = list(await session.scalars(
                select(Report).where(Report.kek_id != keyring.current).order_by(Report.id).limit(batch)
                .with_for_update(skip_locked=True)))
            for report in reports:
                key = sealing.unwrap(keyring, wrapped=report.wrapped_key, kek_id=report.kek_id,
                                     owner_id=str(report.id))
                # The library's envelope format (nonce || AES-GCM), bound to the row as a new data key is.
                report.wrapped_key = sealing._seal(keyring.keys[keyring.current], key,
                                                   f"dek:{report.id}".encode())
                report.kek_id = keyring.current
        done += len(reports)
        batches += 1
        if len(reports) < batch:
            break
    return done


async def left_to_rewrap(*, sessionmaker: async_sessionmaker[AsyncSession], keyring: sealing.Keyring) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Report)
                                    .where(Report.kek_id != keyring.current)) or 0


async def main() -> None:
    settings = SafeReportingSettings()
    engine = create_engine(settings.database_url)
    try:
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        keyring = settings.report_keyring()
        done = await rewrap_data_keys(sessionmaker=sessionmaker, keyring=keyring)
        left = await left_to_rewrap(sessionmaker=sessionmaker, keyring=keyring)
        print(f"re-wrapped {done} data key(s) under {keyring.current}; {left} left")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
