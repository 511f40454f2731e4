"""Immigration status never enters: status-shaped fields and numbers are recognised."""

from __future__ import annotations

import pytest
from safe_reporting.reports.screening import identifying_numbers, passes_eleven_test, status_fields


@pytest.mark.parametrize("name", ["residence_status", "residenceStatus", "v_number", "V-nummer", "bsn", "BSN",
                                  "alien_number", "vreemdelingennummer", "file_number", "nationality",
                                  "passport_number", "immigration_status", "status", "visa", "permit",
                                  "nationality_documents", "asylum_status"])
def test_a_field_that_could_carry_immigration_status_is_recognised(name: str) -> None:
    assert status_fields({"role": "victim", name: "x"}) == [name]
    assert status_fields({"contact": {name: "x"}}) == [f"contact.{name}"]
    assert status_fields({"items": [{name: 1}]}) == [f"items[0].{name}"]


def test_ordinary_report_fields_are_not_status_fields() -> None:
    report = {"role": "victim", "category": "violence", "district": "oost", "occurred_on": "2026-11-01",
              "part_of_day": "night", "description": "x", "answer_language": "nl", "contact": "x"}
    assert status_fields(report) == []


def test_the_eleven_test_accepts_valid_bsns_and_refuses_others() -> None:
    assert passes_eleven_test("111222333")  # the classic valid test number
    assert passes_eleven_test("123456782")
    assert not passes_eleven_test("123456789")
    assert not passes_eleven_test("000000000")


@pytest.mark.parametrize("text", ["my BSN is 111222333", "bsn 1112.22.333.", "V-1234567890 is my number",
                                  "number V1234567", "it is 1234567890"])
def test_a_v_number_or_valid_bsn_in_text_is_found(text: str) -> None:
    assert identifying_numbers(text)


@pytest.mark.parametrize("text", ["it happened at 22:30 on 12-11-2026", "we were 3 people", "bus 123456789 line",
                                  "call me on +31 20 555 0101"])
def test_dates_times_and_numbers_that_fail_the_eleven_test_pass(text: str) -> None:
    assert identifying_numbers(text) == []
