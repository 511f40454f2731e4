"""Matching ranks vacancies by fit, never by speed: rankings equal the ones computed by hand in the docs' terms."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

from employment.job_seekers.models import JobSeeker
from employment.vacancies.matching import rank_candidates, rank_vacancies
from employment.vacancies.models import EmployerCreate, Vacancy, VacancyCreate
from employment.vacancies.service import add_employer, add_vacancy
from employment_support import learn_events, person_events
from sqlalchemy import select

TODAY = date.today()


def vacancy(employer_id: uuid.UUID, title: str, **fields) -> VacancyCreate:
    values = {"employer_id": employer_id, "title": title, "sector": "care", "location": "Amsterdam Zuidoost",
              "starts_on": TODAY + timedelta(days=60), "years_of_experience": 0, **fields}
    return VacancyCreate(**values)


async def test_rankings_equal_hand_computed_ones_and_lasting_fit_beats_a_quicker_temporary_job(sessionmaker) -> None:
    # A nurse (ISCO-08 sub-major group 22, health professionals), bachelor (ISCED 6), 5 years of experience,
    # Dutch B1, wanting 32 hours a week.
    person_id = uuid.uuid4()
    await learn_events(sessionmaker, person_events(person_id, education=6, occupation="22", years=5, dutch="B1"))
    async with sessionmaker() as session, session.begin():
        employer = await add_employer(session=session, employer=EmployerCreate(name="OLVG", sector="care"))
        specs = {
            # occupation 25 (group 22) + education 10 | experience 15 | Dutch 20 | hours 15 | permanent 15 = 100
            "nurse, permanent": dict(occupation="2221", education_level=6, dutch_level="B1", years_of_experience=3,
                                     hours_per_week=32, contract_type="permanent"),
            # occupation 0 (group 53) + education 5 (3 levels below the person's) | 15 | 20 | 15 | temporary 0 = 55
            "care assistant, temporary, starts tomorrow": dict(
                occupation="5321", education_level=3, dutch_level="A2", hours_per_week=32,
                contract_type="temporary", duration_months=3, starts_on=TODAY + timedelta(days=1)),
            # 25 + 10 | 15*5//6 = 12 | B2, one step above B1: 10 | 8 hours off: 8 | fixed-term 6 months: 6 = 71
            "nurse, 6-month contract": dict(occupation="2221", education_level=6, dutch_level="B2",
                                            years_of_experience=6, hours_per_week=24, contract_type="fixed_term",
                                            duration_months=6, starts_on=TODAY + timedelta(days=7)),
            # 25 + one level below 3 | 15 | C1, two steps above: 0 | 4 hours off: 12 | 15 = 70
            "midwife, permanent": dict(occupation="2222", education_level=7, dutch_level="C1",
                                       years_of_experience=2, hours_per_week=36, contract_type="permanent"),
            # 25 + 10 | 15 | 20 | 15 | fixed-term 12 months 10 = 95
            "health professional, 12 months": dict(occupation="2269", education_level=5, dutch_level="B1",
                                                   hours_per_week=32, contract_type="fixed_term",
                                                   duration_months=12),
            # the same fit: ties are broken by lasting work, then education/profession, then vacancy id
            "health professional, 12 months (twin)": dict(occupation="2269", education_level=5, dutch_level="B1",
                                                          hours_per_week=32, contract_type="fixed_term",
                                                          duration_months=12),
            # 25 + 10 | 15 | 20 | 8 hours off: 8 | 15 = 93
            "health professional, permanent, 40 h": dict(occupation="2269", education_level=5, dutch_level="B1",
                                                         hours_per_week=40, contract_type="permanent"),
        }
        ids = {title: (await add_vacancy(session=session, vacancy=vacancy(employer.id, title, **spec))).id
               for title, spec in specs.items()}
    async with sessionmaker() as session:
        seeker = await session.get_one(JobSeeker, person_id)
        ranked = await rank_vacancies(session=session, seeker=seeker, limit=10)

    twins = sorted(["health professional, 12 months", "health professional, 12 months (twin)"],
                   key=lambda title: str(ids[title]))
    assert [(r.vacancy.title, r.score.total) for r in ranked] == [
        ("nurse, permanent", 100), (twins[0], 95), (twins[1], 95), ("health professional, permanent, 40 h", 93),
        ("nurse, 6-month contract", 71), ("midwife, permanent", 70), ("care assistant, temporary, starts tomorrow", 55)]
    assert [r.rank for r in ranked] == list(range(1, 8))
    by_title = {r.vacancy.title: r.score.model_dump() for r in ranked}
    assert by_title["nurse, 6-month contract"] == {"education_profession": 35, "experience": 12, "language": 10,
                                                   "hours": 8, "lasting_work": 6, "total": 71}
    assert by_title["midwife, permanent"] == {"education_profession": 28, "experience": 15, "language": 0,
                                              "hours": 12, "lasting_work": 15, "total": 70}
    assert by_title["care assistant, temporary, starts tomorrow"] == {
        "education_profession": 5, "experience": 15, "language": 20, "hours": 15, "lasting_work": 0, "total": 55}
    # what the nurse lacks, per vacancy: what to work on with the case manager
    lacking = {r.vacancy.title: r.missing for r in ranked}
    assert lacking["nurse, permanent"] == []
    assert lacking["nurse, 6-month contract"] == ["6 years of experience needed, 5 now", "Dutch B2 needed, B1 now",
                                                  "24 hours a week offered, 32 wanted"]
    assert lacking["midwife, permanent"] == ["ISCED 7 needed, ISCED 6 now", "Dutch C1 needed, B1 now",
                                             "36 hours a week offered, 32 wanted"]
    assert lacking["care assistant, temporary, starts tomorrow"] == ["ISCO-08 group 53 asked, 22 now"]


async def test_a_better_fitting_permanent_vacancy_ranks_above_a_quicker_temporary_one_with_equal_other_fit(
        sessionmaker) -> None:
    person_id = uuid.uuid4()
    await learn_events(sessionmaker, person_events(person_id, occupation="74", education=4, years=8, dutch="A2"))
    async with sessionmaker() as session, session.begin():
        employer = await add_employer(session=session, employer=EmployerCreate(name="Installer", sector="construction"))
        common = dict(occupation="7411", education_level=4, dutch_level="A2", hours_per_week=32, sector="construction")
        quick = await add_vacancy(session=session, vacancy=vacancy(
            employer.id, "electrician, agency, starts today", contract_type="temporary", duration_months=2,
            starts_on=TODAY, **common))
        lasting = await add_vacancy(session=session, vacancy=vacancy(
            employer.id, "electrician, permanent, starts in 3 months", contract_type="permanent",
            starts_on=TODAY + timedelta(days=90), **common))
    async with sessionmaker() as session:
        ranked = await rank_vacancies(session=session, seeker=await session.get_one(JobSeeker, person_id))
    assert [r.vacancy.vacancy_id for r in ranked] == [lasting.id, quick.id]
    assert [r.score.total for r in ranked] == [100, 85]


async def test_a_one_digit_profession_scores_its_major_group(sessionmaker) -> None:
    # "7" (craft and related trades): an electrician's vacancy (7411) shares the major group: 12, not 0 nor 25.
    person_id = uuid.uuid4()
    await learn_events(sessionmaker, person_events(person_id, occupation="7", education=4, years=8, dutch="A2"))
    async with sessionmaker() as session, session.begin():
        employer = await add_employer(session=session, employer=EmployerCreate(name="Installer", sector="construction"))
        common = dict(education_level=4, dutch_level="A2", hours_per_week=32, contract_type="permanent")
        await add_vacancy(session=session, vacancy=vacancy(employer.id, "electrician", occupation="7411", **common))
        await add_vacancy(session=session, vacancy=vacancy(employer.id, "driver", occupation="8322", **common))
    async with sessionmaker() as session:
        ranked = await rank_vacancies(session=session, seeker=await session.get_one(JobSeeker, person_id))
    assert [(r.vacancy.title, r.score.education_profession) for r in ranked] == [("electrician", 22), ("driver", 10)]


async def test_candidates_for_a_vacancy_are_ranked_by_the_same_formula_as_matches(sessionmaker) -> None:
    # Every (person, vacancy) pair scores the same both ways, on varied people and vacancies, unknowns included.
    rng = random.Random(19)
    people = [uuid.uuid4() for _ in range(12)]
    events = []
    for person_id in people:
        events += person_events(person_id, education=rng.randint(0, 8), years=rng.randint(0, 12),
                                occupation=rng.choice((None, "7", "22", "53", "74")),
                                dutch=rng.choice(("A0", "A1", "A2", "B1", "B2", "C1")))
    await learn_events(sessionmaker, events)
    async with sessionmaker() as session, session.begin():
        employer = await add_employer(session=session, employer=EmployerCreate(name="Mixed", sector="other"))
        for n in range(8):
            contract = rng.choice(("temporary", "fixed_term", "permanent"))
            await add_vacancy(session=session, vacancy=vacancy(
                employer.id, f"v{n}", occupation=rng.choice(("2221", "5321", "7411", "74", "8")),
                education_level=rng.randint(0, 8), dutch_level=rng.choice(("A1", "A2", "B1", "B2")),
                years_of_experience=rng.randint(0, 10), hours_per_week=rng.choice((16, 24, 32, 40)),
                contract_type=contract, duration_months=None if contract == "permanent" else rng.choice((3, 12))))
    async with sessionmaker() as session:
        forward = {}
        for person_id in people:
            seeker = await session.get_one(JobSeeker, person_id)
            for r in await rank_vacancies(session=session, seeker=seeker, limit=50):
                forward[(person_id, r.vacancy.vacancy_id)] = r.score
        backward = {}
        for row in (await session.scalars(select(Vacancy))).all():
            ranked = await rank_candidates(session=session, vacancy=row, job_hunter_id=None, everyone=True, limit=50)
            assert [c.score.total for c in ranked] == sorted((c.score.total for c in ranked), reverse=True)
            for c in ranked:
                backward[(c.job_seeker.person_id, row.id)] = c.score
    assert len(forward) == 12 * 8
    assert backward == forward
    async with sessionmaker() as session:
        row = (await session.scalars(select(Vacancy).order_by(Vacancy.id))).first()
        seeker = await session.get_one(JobSeeker, people[0])
        [match] = [m for m in await rank_vacancies(session=session, seeker=seeker, limit=50)
                   if m.vacancy.vacancy_id == row.id]
        [candidate] = [c for c in await rank_candidates(session=session, vacancy=row, job_hunter_id=None,
                                                        everyone=True, limit=50) if c.job_seeker.person_id == people[0]]
    assert match.missing == candidate.missing, "what is missing reads the same both ways"
    # the employer's name travels with each match
    assert {r.vacancy.employer_name for r in await _ranked(sessionmaker, people[0])} == {"Mixed"}


async def _ranked(sessionmaker, person_id):
    async with sessionmaker() as session:
        return await rank_vacancies(session=session, seeker=await session.get_one(JobSeeker, person_id))


async def test_a_language_the_vacancy_accepts_instead_of_dutch_counts_as_the_dutch_asked(sessionmaker) -> None:
    # person_events: speaks Arabic and English, Dutch B1. A vacancy asking C1 scores 0 for Dutch, unless the work
    # can be done in English; then 20, and Dutch is not missing.
    person_id = uuid.uuid4()
    await learn_events(sessionmaker, person_events(person_id))
    async with sessionmaker() as session, session.begin():
        employer = await add_employer(session=session, employer=EmployerCreate(name="Booking", sector="technology"))
        common = dict(occupation="2512", education_level=6, dutch_level="C1", hours_per_week=32,
                      contract_type="permanent")
        await add_vacancy(session=session, vacancy=vacancy(employer.id, "Dutch only", **common))
        english = await add_vacancy(session=session, vacancy=vacancy(employer.id, "English accepted",
                                                                     accepted_languages=["en"], **common))
    async with sessionmaker() as session:
        seeker = await session.get_one(JobSeeker, person_id)
        ranked = await rank_vacancies(session=session, seeker=seeker)
        [candidate] = await rank_candidates(session=session, vacancy=english, job_hunter_id=None, everyone=True)
    scores = {r.vacancy.title: (r.score.language, [m for m in r.missing if "Dutch" in m]) for r in ranked}
    assert scores == {"English accepted": (20, []), "Dutch only": (0, ["Dutch C1 needed, B1 now"])}
    assert candidate.score.language == 20


async def test_between_equal_fits_the_vacancy_nearer_the_job_seekers_district_comes_first(sessionmaker) -> None:
    person_id = uuid.uuid4()
    await learn_events(sessionmaker, person_events(person_id, occupation="74", education=4, years=8, dutch="A2"))
    async with sessionmaker() as session, session.begin():
        seeker = await session.get_one(JobSeeker, person_id)
        seeker.district = "zuidoost"
        employer = await add_employer(session=session, employer=EmployerCreate(name="Installer", sector="construction"))
        common = dict(occupation="7411", education_level=4, dutch_level="A2", contract_type="permanent")
        for district, title, hours in (("noord", "far", 32), ("weesp", "near", 32), (None, "unknown", 32),
                                       ("zuidoost", "next door, 40 h", 40)):
            await add_vacancy(session=session, vacancy=vacancy(employer.id, title, district=district,
                                                               hours_per_week=hours, **common))
    async with sessionmaker() as session:
        seeker = await session.get_one(JobSeeker, person_id)
        ranked = await rank_vacancies(session=session, seeker=seeker)
    # three fit alike (100): nearer first, unknown last; the nearest fits less (93) and stays below: fit first
    assert [(r.vacancy.title, r.score.total) for r in ranked] == [
        ("near", 100), ("far", 100), ("unknown", 100), ("next door, 40 h", 93)]
    distances = {r.vacancy.title: r.distance_km for r in ranked}
    assert distances["next door, 40 h"] == 0.0 and distances["unknown"] is None
    assert 0 < distances["near"] < distances["far"]
