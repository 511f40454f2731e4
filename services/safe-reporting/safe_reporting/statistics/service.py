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


def recent_weeks(count: int, today: date | None = None) -> list[str]:
    today = today or datetime.now(UTC).date()
    return sorted({iso_week(today - timedelta(weeks=back)) for back in range(count)})


async def publish_changed_weeks(*, session: AsyncSession, weeks: list[str]) -> list[str]:
    """Stage a statistics event for every given week whose figures changed since they were last published."""
    published = []
    for week in weeks:
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
