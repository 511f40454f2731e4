"""Employment's request bodies say what they take: a field they do not declare, or a date no retention check can
follow, is refused with the field named, never dropped or left to fail later."""

from __future__ import annotations

import uuid

import pytest
from employment.placements.models import PlacementCreate, PlacementEnd
from employment.vacancies.models import EmployerCreate, VacancyCreate
from pydantic import BaseModel, ValidationError

VACANCY = {"employer_id": str(uuid.uuid4()), "title": "Kok", "sector": "hospitality_food", "occupation": "5120",
           "education_level": 3, "dutch_level": "A2", "hours_per_week": 32, "contract_type": "fixed_term",
           "location": "Amsterdam", "starts_on": "2026-01-05"}
PLACEMENT = {"employer_id": str(uuid.uuid4()), "contract_type": "permanent", "hours_per_week": 32,
             "sector": "hospitality_food", "started_on": "2026-01-05"}


def refusal(model: type[BaseModel], body: dict) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    return [(error["loc"], error["type"]) for error in refused.value.errors()]


def test_a_vacancy_with_a_misspelt_duration_is_refused_naming_the_field() -> None:
    assert VacancyCreate.model_validate({**VACANCY, "duration_months": 24}).duration_months == 24
    assert refusal(VacancyCreate, {**VACANCY, "duration_month": 24}) == [(("duration_month",), "extra_forbidden")]


def test_an_employer_with_a_field_it_does_not_have_is_refused() -> None:
    assert refusal(EmployerCreate, {"name": "Bakkerij", "sector": "care", "bogus": 1}) == [(("bogus",),
                                                                                           "extra_forbidden")]


@pytest.mark.parametrize("started_on", ["9999-12-31", "1900-01-01"])
def test_a_placement_starting_where_no_retention_check_can_follow_is_refused(started_on: str) -> None:
    assert [loc for loc, _ in refusal(PlacementCreate, {**PLACEMENT, "started_on": started_on})] == [("started_on",)]
    assert PlacementCreate.model_validate(PLACEMENT).started_on.year == 2026
    assert [loc for loc, _ in refusal(PlacementEnd, {"ended_on": started_on, "reason": "contract_ended"})] == \
        [("ended_on",)]
