"""Weekly anonymous counts: computed from the tally, small figures suppressed, published when they change."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.contracts.safe_reporting import (
    CategoryCount,
    CategoryDistrictCount,
    DistrictCount,
    ReportStatisticsPublished,
)
from verbinding_common.errors import NotFound
from verbinding_common.outbox import add_event

from ..reports.models import Category, District, ReportTally
from ..reports.service import iso_week
from .models import PublishedWeek
from .suppression import THRESHOLD, suppress


async def week_statistics(*, session: AsyncSession, week: str) -> ReportStatisticsPublished:
    """The week's counts per category x district with totals, every figure under 5 (and its complements) hidden."""
    rows = await session.execute(select(ReportTally.category, ReportTally.district, ReportTally.reports)
                                 .where(ReportTally.iso_week == week))
    counts = {(category, district): reports for category, district, reports in rows}
    categories, districts = [str(c) for c in Category], [str(d) for d in District]
    table = suppress(counts, categories, districts)
    return ReportStatisticsPublished(
        iso_week=week, threshold=THRESHOLD, computed_at=datetime.now(UTC),
        cells=[CategoryDistrictCount(category=c, district=d, reports=table.cells[(c, d)])
               for c in categories for d in districts],
        category_totals=[CategoryCount(category=c, reports=table.row_totals[c]) for c in categories],
        district_totals=[DistrictCount(district=d, reports=table.column_totals[d]) for d in districts],
        total=table.total,
    )


# A week's figures are final once it has ended and a report taken in its last moments has surely committed.
CLOSING_GRACE = timedelta(hours=1)


def is_closed(week: str, now: datetime | None = None) -> bool:
    """Whether the ISO week has ended (plus the grace): only then are its figures computed and published."""
    now = now or datetime.now(UTC)
    year, number = week.split("-W")
    try:
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        return False
    ends = datetime(monday.year, monday.month, monday.day, tzinfo=UTC) + timedelta(weeks=1)
    return now >= ends + CLOSING_GRACE


def closed_weeks(count: int, now: datetime | None = None) -> list[str]:
    """The `count` most recent weeks that have closed, oldest first; never the week still open, whose figures
    would move by one with each new report (differencing over time)."""
    now = now or datetime.now(UTC)
    weeks = {iso_week((now - timedelta(weeks=back)).date()) for back in range(count + 2)}
    return sorted(week for week in weeks if is_closed(week, now))[-count:]


async def closed_week_statistics(*, session: AsyncSession, week: str) -> ReportStatisticsPublished:
    """The week's figures, once it has closed; before that there are none (404)."""
    if not is_closed(week):
        raise NotFound(f"{week} has not closed yet: a week's figures exist only once it has ended")
    return await week_statistics(session=session, week=week)


async def publish_changed_weeks(*, session: AsyncSession, weeks: list[str]) -> list[str]:
    """Stage a statistics event for every given week whose figures changed since they were last published."""
    published = []
    for week in (week for week in weeks if is_closed(week)):
        statistics = await week_statistics(session=session, week=week)
        figures = statistics.model_dump_json(exclude={"computed_at"})
        digest = hashlib.sha256(figures.encode()).hexdigest()
        last = await session.scalar(select(PublishedWeek.digest).where(PublishedWeek.iso_week == week))
        if last == digest or (last is None and statistics.total is None and not _any_shown(statistics)):
            continue
        await add_event(session, statistics, key=week)
        await session.execute(pg_insert(PublishedWeek).values(iso_week=week, digest=digest).on_conflict_do_update(
            index_elements=["iso_week"], set_={"digest": digest, "published_at": datetime.now(UTC)}))
        published.append(week)
    return published


def _any_shown(statistics: ReportStatisticsPublished) -> bool:
    return any(cell.reports is not None for cell in statistics.cells)
