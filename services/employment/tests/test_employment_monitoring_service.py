"""Participation and sustainable-work figures equal a hand count on seeded data; cells under 5 are suppressed, with
complements so that none can be worked out from the totals."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from employment.job_seekers.models import JobSeeker
from employment.monitoring.service import participation_report
from employment.placements.models import PlacementCreate, RetentionCheck
from employment.placements.service import end_placement, start_placement
from employment.vacancies.models import EmployerCreate
from employment.vacancies.service import add_employer
from employment_support import learn_events, person_events
from sqlalchemy import DateTime, func, update

AS_OF = date(2026, 6, 30)
C21, C22, C23 = date(2021, 3, 1), date(2022, 9, 1), date(2023, 5, 1)
# (sector, hours, started_on, ended_on, outcome of the 12-month check)
HOSP_LASTING = ("hospitality_food", 32, date(2022, 5, 1), None, "same_employer")  # sustainable
HOSP_SMALL = ("hospitality_food", 12, date(2022, 5, 1), None, "same_employer")  # under 20 hours: not sustainable
CARE_LATE = ("care", 36, date(2024, 6, 1), None, "same_employer")  # started after 3 years (2021 cohort): not
ENDED = ("hospitality_food", 32, date(2021, 6, 1), date(2023, 1, 1), "same_employer")  # sustainable, not working
LOGISTICS = ("logistics", 40, date(2023, 1, 1), None, "same_employer")  # sustainable
HOSP_MOVED = ("hospitality_food", 24, date(2025, 1, 1), None, "other_work")  # left at 12 months: not sustainable
CARE_NEW = ("care", 32, date(2026, 1, 5), None, None)

PEOPLE = [
    # cohort 2021: 10 people (6 women, 5 of them working), 7 working, 5 sustainable (2 women)
    *[(C21, "female", [HOSP_LASTING])] * 2, (C21, "female", [HOSP_SMALL]), *[(C21, "female", [CARE_LATE])] * 2,
    (C21, "female", []),
    *[(C21, "male", [HOSP_LASTING])] * 2, (C21, "male", [ENDED]), (C21, "male", []),
    # cohort 2022: 8 people (3 women, 2 of them working), 6 working, 5 sustainable
    (C22, "female", [LOGISTICS]), (C22, "female", [HOSP_MOVED]), (C22, "female", []),
    *[(C22, "male", [LOGISTICS])] * 4, (C22, "male", []),
    # cohort 2023: 3 people: every figure suppressed
    (C23, "female", []), (C23, "male", [CARE_NEW]), (C23, "male", []),
]


async def seed(sessionmaker) -> None:
    ids = [uuid.uuid4() for _ in PEOPLE]
    await learn_events(sessionmaker, [event for person_id, (recognised_on, gender, _) in zip(ids, PEOPLE, strict=True)
                                      for event in person_events(person_id, recognised_on=recognised_on,
                                                                 gender=gender)])
    async with sessionmaker() as session, session.begin():
        employer = await add_employer(session=session, employer=EmployerCreate(name="Employer", sector="other"))
        for person_id, (_, _, placements) in zip(ids, PEOPLE, strict=True):
            seeker = await session.get_one(JobSeeker, person_id)
            for sector, hours, started_on, ended_on, outcome in placements:
                placement = await start_placement(session=session, seeker=seeker, recorded_by="jh-eva",
                                                  placement=PlacementCreate(
                                                      employer_id=employer.id, contract_type="permanent",
                                                      hours_per_week=hours, sector=sector, started_on=started_on))
                if ended_on:
                    await end_placement(session=session, placement=placement, ended_on=ended_on, reason="resigned")
                if outcome:  # recorded on the day the 12-month check came due
                    await session.execute(update(RetentionCheck).where(
                        RetentionCheck.placement_id == placement.id, RetentionCheck.months == 12)
                        .values(outcome=outcome, recorded_by="jh-eva", recorded_at=func.cast(
                            RetentionCheck.due_on, DateTime(timezone=True)) + timedelta(hours=12)))


async def test_participation_and_sustainable_work_equal_a_hand_count_with_small_cells_suppressed(
        sessionmaker) -> None:
    await seed(sessionmaker)
    async with sessionmaker() as session:
        report = (await participation_report(session=session, as_of=AS_OF)).model_dump(mode="json")

    assert report["overall"] == {"people": 21, "working": 14, "participation": 0.6667, "sustainable": 10,
                                 "sustainable_share": 0.4762, "suppressed": False}
    # Primary: every count under 5. Complementary: 2023's 3 people would be 21 - 10 - 8, so 2022's 8 goes too; its
    # working (6) goes with 2023's 1; 2023's 0 sustainable would be 10 - 5 - 5, and the women's 3 would be 10 - 7.
    assert report["by_cohort"] == [
        {"cohort": 2021, "people": 10, "working": 7, "participation": 0.7, "sustainable": None,
         "sustainable_share": None, "suppressed": True},
        {"cohort": 2022, "people": None, "working": None, "participation": None, "sustainable": 5,
         "sustainable_share": None, "suppressed": True},
        {"cohort": 2023, "people": None, "working": None, "participation": None, "sustainable": None,
         "sustainable_share": None, "suppressed": True},
    ]
    assert report["by_gender"] == [
        {"gender": "female", "people": 10, "working": 7, "participation": 0.7, "sustainable": None,
         "sustainable_share": None, "suppressed": True},
        {"gender": "male", "people": 11, "working": 7, "participation": 0.6364, "sustainable": None,
         "sustainable_share": None, "suppressed": True},
    ]
    # care's 3 would be 14 - 6 - 5
    assert report["by_sector"] == [
        {"sector": "care", "working": None, "share_of_working": None, "suppressed": True},
        {"sector": "hospitality_food", "working": 6, "share_of_working": 0.4286, "suppressed": False},
        {"sector": "logistics", "working": None, "share_of_working": None, "suppressed": True},
    ]
    assert report["reference"] == {"aim_sustainable_within_3_years": 0.5, "participation_2020": 0.37,
                                   "participation_women_2020": 0.19, "hospitality_food_share_of_working_2020": 0.39}
    assert report["min_cell"] == 5


async def test_a_report_before_anyone_was_recognised_shows_nothing_but_suppressed_zeros(sessionmaker) -> None:
    await seed(sessionmaker)
    async with sessionmaker() as session:
        report = await participation_report(session=session, as_of=date(2020, 12, 31))
    assert report.overall.people is None and report.overall.suppressed
    assert (report.by_cohort, report.by_gender, report.by_sector) == ([], [], [])


async def test_sustainable_work_counts_only_outcomes_recorded_by_the_report_date(sessionmaker) -> None:
    await seed(sessionmaker)
    async with sessionmaker() as session:
        # Every 12-month outcome of the seed is recorded on its due day: the latest 2022-05 sustainable starts came
        # due 2023-05-01, the logistics ones 2024-01-01.
        before = await participation_report(session=session, as_of=date(2023, 12, 31))
        after = await participation_report(session=session, as_of=date(2024, 1, 1))
        # Recorded later than it came due: a report dated before the recording does not count it yet.
        await session.execute(update(RetentionCheck).where(RetentionCheck.due_on == date(2024, 1, 1))
                              .values(recorded_at=func.cast(date(2024, 3, 1), DateTime(timezone=True))))
        late = await participation_report(session=session, as_of=date(2024, 2, 1))
    # by then: 4 women and men of 2021 in hospitality, 1 ended placement (2021-06 + 12 months), none of logistics
    assert before.overall.sustainable == 5
    assert after.overall.sustainable == 10
    assert late.overall.sustainable == 5
