"""Ranking vacancies for a job seeker by fit, never by speed (docs/employment-matching.md).

The score is computed by PostgreSQL over every open vacancy in one statement (integers only, so it is exactly
reproducible); each component is returned beside the total so that a job hunter can explain the ranking.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..job_seekers.models import CEFR_LEVELS, JobSeeker
from .models import FitScore, RankedVacancy, Vacancy, VacancyRead

# Intake's interview names the occupation by its ISCO-08 sub-major group (2 digits); vacancies may be finer.
SAME_SUB_MAJOR_GROUP, SAME_MAJOR_GROUP = 25, 12


def occupation_points(occupation: str | None) -> ColumnElement[int]:
    """0-25: the vacancy is in the person's ISCO-08 sub-major group (25) or at least its major group (12)."""
    if not occupation:
        return literal(0)
    if len(occupation) < 2:  # the interview named the major group only
        return case((func.left(Vacancy.occupation, 1) == occupation, SAME_MAJOR_GROUP), else_=0)
    return case((func.left(Vacancy.occupation, 2) == occupation[:2], SAME_SUB_MAJOR_GROUP),
                (func.left(Vacancy.occupation, 1) == occupation[:1], SAME_MAJOR_GROUP), else_=0)


def education_points(level: int | None) -> ColumnElement[int]:
    """0-10: meets the level asked (10), far above it (5: the education goes unused), one below (3)."""
    if level is None:
        return literal(0)
    asked = Vacancy.education_level
    return case((asked <= level - 3, 5), (asked <= level, 10), (asked == level + 1, 3), else_=0)


def experience_points(years: int | None) -> ColumnElement[int]:
    """0-15: full marks when the person has the years asked, else in proportion (rounded down)."""
    years = years or 0
    return case((Vacancy.years_of_experience <= years, 15),
                else_=literal(15 * years) // Vacancy.years_of_experience)


def language_points(dutch_level: str | None) -> ColumnElement[int]:
    """0-20: the Dutch level asked (20), or one CEFR step below it (10: a language course alongside the job)."""
    has = CEFR_LEVELS.index(dutch_level) if dutch_level in CEFR_LEVELS else 0
    # CEFR codes sort as text in their own order (A0 < A1 < ... < C2).
    one_step_up = CEFR_LEVELS[has + 1] if has + 1 < len(CEFR_LEVELS) else None
    return case((Vacancy.dutch_level <= CEFR_LEVELS[has], 20), (Vacancy.dutch_level == one_step_up, 10), else_=0)


def hours_points(hours_wanted: int) -> ColumnElement[int]:
    """0-15: by how far the hours offered are from the hours wanted."""
    gap = func.abs(Vacancy.hours_per_week - hours_wanted)
    return case((gap == 0, 15), (gap <= 4, 12), (gap <= 8, 8), (gap <= 16, 4), else_=0)


def lasting_work_points() -> ColumnElement[int]:
    """0-15: lasting work first: permanent 15, fixed-term of 12 months or more 10, shorter fixed-term 6."""
    return case((Vacancy.contract_type == "permanent", 15),
                (and_(Vacancy.contract_type == "fixed_term", func.coalesce(Vacancy.duration_months, 0) >= 12), 10),
                (Vacancy.contract_type == "fixed_term", 6), else_=0)


async def rank_vacancies(*, session: AsyncSession, seeker: JobSeeker, limit: int = 20) -> list[RankedVacancy]:
    """The open vacancies that fit the job seeker best, highest total first, with the score per component."""
    education_profession = (occupation_points(seeker.occupation) + education_points(seeker.education_level))
    components = {
        "education_profession": education_profession.label("education_profession"),
        "experience": experience_points(seeker.years_of_experience).label("experience"),
        "language": language_points(seeker.dutch_level).label("language"),
        "hours": hours_points(seeker.hours_wanted).label("hours"),
        "lasting_work": lasting_work_points().label("lasting_work"),
    }
    scored = (select(Vacancy.id.label("vacancy_id"), *components.values())
              .where(Vacancy.openings > 0)
              .subquery())
    total = sum((scored.c[name] for name in components), literal(0)).label("total")
    ranked = (select(scored, total).order_by(total.desc(), scored.c.lasting_work.desc(),
                                             scored.c.education_profession.desc(), scored.c.vacancy_id)
              .limit(limit).subquery())
    rows = (await session.execute(select(Vacancy, ranked).join(ranked, ranked.c.vacancy_id == Vacancy.id)
                                  .order_by(ranked.c.total.desc(), ranked.c.lasting_work.desc(),
                                            ranked.c.education_profession.desc(), ranked.c.vacancy_id))).all()
    return [RankedVacancy(rank=n, vacancy=VacancyRead.of(row.Vacancy),
                          score=FitScore(**{name: getattr(row, name) for name in [*components, "total"]}))
            for n, row in enumerate(rows, start=1)]
