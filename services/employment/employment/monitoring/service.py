"""Labour-market participation and sustainable work, per recognition cohort, gender and sector, in one query.

Definitions (docs/employment-matching.md, "Monitoring"): *working* = holding a placement on the report date;
*sustainable work within 3 years* = a placement of at least 20 hours a week, started within 3 years of
recognition, still with the same employer at its 12-month retention check.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..applications.models import PIPELINE, ApplicationStepRow
from .models import (
    MIN_CELL,
    CohortFigures,
    Figures,
    GenderFigures,
    ParticipationReport,
    SectorFigures,
    StageFigures,
)
from .suppression import Equation, suppress

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
          -- as the report date knew it: an outcome recorded later does not count yet
          AND p.started_on <= :as_of AND r.due_on <= :as_of AND CAST(r.recorded_at AS date) <= :as_of
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
    suppressed, with complements so that none can be worked out from the totals."""
    rows = (await session.execute(_FIGURES, {"as_of": as_of, "min_hours": SUSTAINABLE_MIN_HOURS})).all()
    counts: dict[tuple[str, str, object], int] = {}
    cohorts: list[int] = []
    genders: list[str] = []
    sectors: list[str] = []
    for row in rows:
        if row.by_cohort and row.by_gender and row.by_sector:
            group: tuple[str, object] = ("overall", None)
        elif not row.by_cohort:
            group = ("cohort", row.cohort)
            cohorts.append(row.cohort)
        elif not row.by_gender:
            group = ("gender", row.gender)
            genders.append(row.gender)
        elif row.sector is not None:
            sectors.append(row.sector)
            counts[("working", "sector", row.sector)] = row.working
            continue
        else:
            continue
        for measure in MEASURES:
            counts[(measure, *group)] = getattr(row, measure)
    if not cohorts:  # nobody yet: the overall row still comes, with zeros
        counts.update({(measure, "overall", None): counts.get((measure, "overall", None), 0) for measure in MEASURES})
    sectors.sort()
    hidden = suppress(counts, _equations(cohorts, genders, sectors), MIN_CELL)

    def shown(measure: str, dimension: str, group: object) -> int | None:
        key = (measure, dimension, group)
        return None if key in hidden else counts[key]

    def figures(dimension: str, group: object) -> dict[str, object]:
        return Figures.of(*(shown(measure, dimension, group) for measure in MEASURES)).model_dump()

    working_total = shown("working", "overall", None)
    by_sector = []
    for sector in sectors:
        working = shown("working", "sector", sector)
        by_sector.append(SectorFigures(sector=sector, working=working, suppressed=working is None,
                                       share_of_working=round(working / working_total, 4)
                                       if working is not None and working_total else None))
    return ParticipationReport(as_of=as_of, overall=Figures(**figures("overall", None)),
                               by_cohort=[CohortFigures(cohort=c, **figures("cohort", c)) for c in cohorts],
                               by_gender=[GenderFigures(gender=g, **figures("gender", g)) for g in genders],
                               by_sector=by_sector, applications=await _conversion(session=session, as_of=as_of))


async def _conversion(*, session: AsyncSession, as_of: date) -> list[StageFigures]:
    """Applications per stage reached by `as_of`, and the conversion from the stage before; a count under 5 is
    hidden with the conversions built on it (the counts are not sums of one another: nothing to complement)."""
    reached = dict((await session.execute(
        select(ApplicationStepRow.stage, func.count()).where(ApplicationStepRow.stepped_on <= as_of,
                                                             ApplicationStepRow.stage.in_(PIPELINE))
        .group_by(ApplicationStepRow.stage))).all())
    shown = [(stage, n if (n := reached.get(stage, 0)) >= MIN_CELL else None) for stage in PIPELINE]
    return [StageFigures(stage=stage, reached=n,
                         conversion=round(n / shown[k - 1][1], 4) if k and n is not None and shown[k - 1][1] else None)
            for k, (stage, n) in enumerate(shown)]


MEASURES = ("people", "working", "sustainable")


def _equations(cohorts: list[int], genders: list[str], sectors: list[str]) -> list[Equation]:
    """How the report's counts add up: per measure, the overall count is the sum over cohorts and over genders;
    people working, also the sum over sectors (everyone working has a main placement, in one sector)."""
    equations: list[Equation] = []
    for measure in MEASURES:
        total = (measure, "overall", None)
        equations.append((total, [(measure, "cohort", c) for c in cohorts]))
        equations.append((total, [(measure, "gender", g) for g in genders]))
    equations.append((("working", "overall", None), [("working", "sector", s) for s in sectors]))
    return equations
