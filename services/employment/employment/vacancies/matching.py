"""Ranking by fit, never by speed (docs/employment-matching.md): vacancies for a job seeker, and the reverse,
job seekers for a vacancy ("candidates"), by the one formula.

Each component is written once, over two sides: the person's values and the vacancy's, each either a column or a
bound value. Ranking vacancies binds the person and reads the vacancy table; ranking candidates binds the vacancy
and reads the job seeker table. PostgreSQL scores every row in one statement (integers only, so it is exactly
reproducible); each component is returned beside the total so that a job hunter can explain the ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Integer, String, and_, case, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from ..job_seekers.models import CEFR_LEVELS, JobSeeker, JobSeekerRead
from .districts import distance_km, distances_from
from .models import Employer, FitScore, RankedCandidate, RankedVacancy, Vacancy, VacancyRead
from .service import is_open

# Intake's interview names the occupation by its ISCO-08 sub-major group (2 digits) or, when that is all it knew,
# its major group (1 digit); vacancies may be finer.
SAME_SUB_MAJOR_GROUP, SAME_MAJOR_GROUP = 25, 12
UNKNOWN_DISTANCE = 10_000  # hundreds of metres: after every district of the city
COMPONENTS = ("education_profession", "experience", "language", "hours", "lasting_work")


@dataclass(frozen=True)
class PersonSide:
    occupation: Any
    education_level: Any
    years_of_experience: Any
    dutch_level: Any  # unknown counts as A0
    dutch_one_step_up: Any  # the CEFR level above it (null above C2)
    languages: Any  # spoken, ISO 639-1
    hours_wanted: Any

    @classmethod
    def bound(cls, seeker: JobSeeker) -> PersonSide:
        has = CEFR_LEVELS.index(seeker.dutch_level) if seeker.dutch_level in CEFR_LEVELS else 0
        up = CEFR_LEVELS[has + 1] if has + 1 < len(CEFR_LEVELS) else None
        return cls(occupation=literal(seeker.occupation, String),
                   education_level=literal(seeker.education_level, Integer),
                   years_of_experience=literal(seeker.years_of_experience, Integer),
                   dutch_level=literal(CEFR_LEVELS[has], String), dutch_one_step_up=literal(up, String),
                   languages=literal(list(seeker.languages or []), ARRAY(String)),
                   hours_wanted=literal(seeker.hours_wanted, Integer))

    @classmethod
    def columns(cls) -> PersonSide:
        return cls(occupation=JobSeeker.occupation, education_level=JobSeeker.education_level,
                   years_of_experience=JobSeeker.years_of_experience,
                   dutch_level=func.coalesce(JobSeeker.dutch_level, CEFR_LEVELS[0]),
                   dutch_one_step_up=case(dict(pairwise(CEFR_LEVELS)),
                                          value=func.coalesce(JobSeeker.dutch_level, CEFR_LEVELS[0]), else_=None),
                   languages=JobSeeker.languages,
                   hours_wanted=JobSeeker.hours_wanted)


@dataclass(frozen=True)
class VacancySide:
    occupation: Any
    education_level: Any
    years_of_experience: Any
    dutch_level: Any
    hours_per_week: Any
    contract_type: Any
    duration_months: Any
    accepted_languages: Any


    @classmethod
    def bound(cls, vacancy: Vacancy) -> VacancySide:
        return cls(occupation=literal(vacancy.occupation, String),
                   education_level=literal(vacancy.education_level, Integer),
                   years_of_experience=literal(vacancy.years_of_experience, Integer),
                   dutch_level=literal(vacancy.dutch_level, String),
                   hours_per_week=literal(vacancy.hours_per_week, Integer),
                   contract_type=literal(vacancy.contract_type, String),
                   duration_months=literal(vacancy.duration_months, Integer),
                   accepted_languages=literal(list(vacancy.accepted_languages or []), ARRAY(String)))

    @classmethod
    def columns(cls) -> VacancySide:
        return cls(occupation=Vacancy.occupation, education_level=Vacancy.education_level,
                   years_of_experience=Vacancy.years_of_experience, dutch_level=Vacancy.dutch_level,
                   hours_per_week=Vacancy.hours_per_week, contract_type=Vacancy.contract_type,
                   duration_months=Vacancy.duration_months, accepted_languages=Vacancy.accepted_languages)


def occupation_points(person: PersonSide, vacancy: VacancySide) -> ColumnElement[int]:
    """0-25: the vacancy is in the person's ISCO-08 sub-major group (25) or only in its major group (12); a person
    known by the major group alone gets 12 for it."""
    return case((person.occupation.is_(None), 0),
                (and_(func.length(person.occupation) >= 2,
                      func.left(vacancy.occupation, 2) == func.left(person.occupation, 2)), SAME_SUB_MAJOR_GROUP),
                (func.left(vacancy.occupation, 1) == func.left(person.occupation, 1), SAME_MAJOR_GROUP), else_=0)


def education_points(person: PersonSide, vacancy: VacancySide) -> ColumnElement[int]:
    """0-10: meets the level asked (10), far above it (5: the education goes unused), one below (3); unknown 0."""
    asked, level = vacancy.education_level, person.education_level
    return case((asked <= level - 3, 5), (asked <= level, 10), (asked == level + 1, 3), else_=0)


def experience_points(person: PersonSide, vacancy: VacancySide) -> ColumnElement[int]:
    """0-15: full marks when the person has the years asked, else in proportion (rounded down)."""
    years = func.coalesce(person.years_of_experience, 0)
    return case((vacancy.years_of_experience <= years, 15), else_=(15 * years) // vacancy.years_of_experience)


def language_points(person: PersonSide, vacancy: VacancySide) -> ColumnElement[int]:
    """0-20: the Dutch level asked, or a language the vacancy accepts instead of Dutch (20); one CEFR step below
    the Dutch asked (10: a language course alongside the job)."""
    # CEFR codes sort as text in their own order (A0 < A1 < ... < C2).
    return case((vacancy.dutch_level <= person.dutch_level, 20),
                (vacancy.accepted_languages.overlap(person.languages), 20),
                (vacancy.dutch_level == person.dutch_one_step_up, 10), else_=0)


def hours_points(person: PersonSide, vacancy: VacancySide) -> ColumnElement[int]:
    """0-15: by how far the hours offered are from the hours wanted."""
    gap = func.abs(vacancy.hours_per_week - person.hours_wanted)
    return case((gap == 0, 15), (gap <= 4, 12), (gap <= 8, 8), (gap <= 16, 4), else_=0)


def lasting_work_points(vacancy: VacancySide) -> ColumnElement[int]:
    """0-15: lasting work first: permanent 15, fixed-term of 12 months or more 10, shorter fixed-term 6."""
    return case((vacancy.contract_type == "permanent", 15),
                (and_(vacancy.contract_type == "fixed_term", func.coalesce(vacancy.duration_months, 0) >= 12), 10),
                (vacancy.contract_type == "fixed_term", 6), else_=0)


def fit(person: PersonSide, vacancy: VacancySide) -> list[ColumnElement[int]]:
    """The five components, labelled, in the documented order."""
    return [(occupation_points(person, vacancy) + education_points(person, vacancy)).label("education_profession"),
            experience_points(person, vacancy).label("experience"),
            language_points(person, vacancy).label("language"),
            hours_points(person, vacancy).label("hours"),
            lasting_work_points(vacancy).label("lasting_work")]


def missing(seeker: JobSeeker, vacancy: Vacancy) -> list[str]:
    """What the person lacks for the vacancy, component by component, in the job hunter's words."""
    gaps = []
    if not seeker.occupation or vacancy.occupation[:2] != seeker.occupation[:2]:
        gaps.append(f"ISCO-08 group {vacancy.occupation[:2]} asked, {seeker.occupation or 'none known'} now")
    if seeker.education_level is None or seeker.education_level < vacancy.education_level:
        now = "unknown" if seeker.education_level is None else f"ISCED {seeker.education_level}"
        gaps.append(f"ISCED {vacancy.education_level} needed, {now} now")
    if (seeker.years_of_experience or 0) < vacancy.years_of_experience:
        gaps.append(f"{vacancy.years_of_experience} years of experience needed, {seeker.years_of_experience or 0} now")
    accepted = set(vacancy.accepted_languages or []) & set(seeker.languages or [])
    if (seeker.dutch_level or "A0") < vacancy.dutch_level and not accepted:  # CEFR codes sort as text in order
        gaps.append(f"Dutch {vacancy.dutch_level} needed, {seeker.dutch_level or 'unknown'} now")
    if vacancy.hours_per_week != seeker.hours_wanted:
        gaps.append(f"{vacancy.hours_per_week} hours a week offered, {seeker.hours_wanted} wanted")
    return gaps


def _score(row: Any) -> FitScore:
    return FitScore(**{name: getattr(row, name) for name in (*COMPONENTS, "total")})


async def rank_vacancies(*, session: AsyncSession, seeker: JobSeeker, limit: int = 20) -> list[RankedVacancy]:
    """The open vacancies that fit the job seeker best, highest total first, with the score per component."""
    away = _distance(distances_from(seeker.district), Vacancy.district)
    scored = (select(Vacancy.id.label("vacancy_id"), *fit(PersonSide.bound(seeker), VacancySide.columns()),
                     away.label("away")).where(is_open()).subquery())
    total = sum((scored.c[name] for name in COMPONENTS), literal(0)).label("total")
    order = (total.desc(), scored.c.lasting_work.desc(), scored.c.education_profession.desc(), scored.c.away,
             scored.c.vacancy_id)
    ranked = select(scored, total).order_by(*order).limit(limit).subquery()
    rows = (await session.execute(
        select(Vacancy, Employer.name.label("employer_name"), ranked)
        .join(ranked, ranked.c.vacancy_id == Vacancy.id).join(Employer, Employer.id == Vacancy.employer_id)
        .order_by(ranked.c.total.desc(), ranked.c.lasting_work.desc(), ranked.c.education_profession.desc(),
                  ranked.c.away, ranked.c.vacancy_id))).all()
    return [RankedVacancy(rank=n, vacancy=VacancyRead.of(row.Vacancy, row.employer_name), score=_score(row),
                          missing=missing(seeker, row.Vacancy),
                          distance_km=distance_km(seeker.district, row.Vacancy.district))
            for n, row in enumerate(rows, start=1)]


def _distance(hundreds_of_metres: dict[str, int], district: Any) -> ColumnElement[int]:
    """Hundreds of metres to `district`; unknown (either side) sorts after every known distance."""
    if not hundreds_of_metres:
        return literal(UNKNOWN_DISTANCE)
    return case(hundreds_of_metres, value=district, else_=UNKNOWN_DISTANCE)


async def rank_candidates(*, session: AsyncSession, vacancy: Vacancy, job_hunter_id: UUID | None,
                          everyone: bool, limit: int = 20) -> list[RankedCandidate]:
    """The job seekers with an open case who fit the vacancy best, by the same formula: a job hunter's own, or
    (`everyone`, for a team lead) all of them. Ties: education and profession, then person id."""
    if not everyone and job_hunter_id is None:
        return []
    away = _distance(distances_from(vacancy.district), JobSeeker.district)
    scored = (select(JobSeeker.person_id, *fit(PersonSide.columns(), VacancySide.bound(vacancy)), away.label("away"))
              .where(JobSeeker.recognised_on.is_not(None), JobSeeker.case_closed_on.is_(None)))
    if not everyone:
        scored = scored.where(JobSeeker.job_hunter_id == job_hunter_id)
    scored = scored.subquery()
    total = sum((scored.c[name] for name in COMPONENTS), literal(0)).label("total")
    ranked = (select(scored, total).order_by(total.desc(), scored.c.education_profession.desc(), scored.c.away,
                                             scored.c.person_id).limit(limit).subquery())
    rows = (await session.execute(
        select(JobSeeker, ranked).join(ranked, ranked.c.person_id == JobSeeker.person_id)
        .order_by(ranked.c.total.desc(), ranked.c.education_profession.desc(), ranked.c.away,
                  ranked.c.person_id))).all()
    return [RankedCandidate(rank=n, job_seeker=JobSeekerRead.of(row.JobSeeker), score=_score(row),
                            missing=missing(row.JobSeeker, vacancy),
                            distance_km=distance_km(row.JobSeeker.district, vacancy.district))
            for n, row in enumerate(rows, start=1)]
