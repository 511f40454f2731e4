"""Labour-market participation and sustainable work, per recognition cohort, gender and sector, in one query.

Definitions (docs/employment-matching.md, "Monitoring"): *working* = holding a placement on the report date;
*sustainable work within 3 years* = a placement of at least 20 hours a week, started within 3 years of
recognition, still with the same employer at its 12-month retention check.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .models import MIN_CELL, CohortFigures, Figures, GenderFigures, ParticipationReport, SectorFigures

SUSTAINABLE_MIN_HOURS = 20

_FIGURES = text("""
    WITH main_placement AS (
        SELECT DISTINCT ON (person_id) person_id, sector
        FROM placement
        WHERE started_on <= :as_of AND (ended_on IS NULL OR ended_on > :as_of)
        ORDER BY person_id, hours_per_week DESC, started_on DESC, id
    ), sustainable AS (
        SELECT DISTINCT p.person_id
        FROM placement p
        JOIN job_seeker js ON js.person_id = p.person_id
        JOIN retention_check r ON r.placement_id = p.id AND r.months = 12 AND r.outcome = 'same_employer'
        WHERE p.hours_per_week >= :min_hours AND p.started_on < js.recognised_on + make_interval(years => 3)
    ), person_status AS (
        SELECT CAST(extract(year FROM js.recognised_on) AS int) AS cohort, js.gender, mp.sector,
               mp.person_id IS NOT NULL AS working, s.person_id IS NOT NULL AS sustainable
        FROM job_seeker js
        LEFT JOIN main_placement mp ON mp.person_id = js.person_id
        LEFT JOIN sustainable s ON s.person_id = js.person_id
        WHERE js.recognised_on IS NOT NULL AND js.recognised_on <= :as_of
    )
    SELECT GROUPING(cohort) AS by_cohort, GROUPING(gender) AS by_gender, GROUPING(sector) AS by_sector,
           cohort, gender, sector, count(*) AS people, count(*) FILTER (WHERE working) AS working,
           count(*) FILTER (WHERE sustainable) AS sustainable
    FROM person_status
    GROUP BY GROUPING SETS ((), (cohort), (gender), (sector))
    ORDER BY cohort, gender, sector
""")


async def participation_report(*, session: AsyncSession, as_of: date) -> ParticipationReport:
    """Participation and sustainable work on `as_of`, overall and per cohort, gender and sector; small cells
    suppressed."""
    rows = (await session.execute(_FIGURES, {"as_of": as_of, "min_hours": SUSTAINABLE_MIN_HOURS})).all()
    overall = Figures.of(0, 0, 0)
    cohorts, genders, sectors = [], [], []
    working_total = 0
    for row in rows:
        if row.by_cohort and row.by_gender and row.by_sector:
            overall = Figures.of(row.people, row.working, row.sustainable)
            working_total = row.working
        elif not row.by_cohort:
            cohorts.append(CohortFigures(cohort=row.cohort, **Figures.of(row.people, row.working,
                                                                       row.sustainable).model_dump()))
        elif not row.by_gender:
            genders.append(GenderFigures(gender=row.gender, **Figures.of(row.people, row.working,
                                                                       row.sustainable).model_dump()))
        elif row.sector is not None:
            sectors.append(row)
    by_sector = [SectorFigures(sector=row.sector, working=row.working if row.working >= MIN_CELL else None,
                               share_of_working=round(row.working / working_total, 4)
                               if row.working >= MIN_CELL and working_total >= MIN_CELL else None,
                               suppressed=row.working < MIN_CELL)
                 for row in sorted(sectors, key=lambda r: r.sector)]
    return ParticipationReport(as_of=as_of, overall=overall, by_cohort=cohorts, by_gender=genders,
                               by_sector=by_sector)
