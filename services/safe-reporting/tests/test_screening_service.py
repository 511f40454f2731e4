"""Immigration status never enters: status-shaped fields and numbers are recognised."""

from __future__ import annotations

import random
import re
from pathlib import Path

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


def _examples() -> list[tuple[str, str]]:
    """The table of examples in docs/safe-reporting.md: (text, outcome), each row one case of the test below."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "safe-reporting.md").read_text()
    table = doc.split("<!-- screening-examples -->")[1].split("<!-- /screening-examples -->")[0]
    rows = [line.strip().strip("|").split("|") for line in table.splitlines() if line.strip().startswith("| `")]
    return [(re.search(r"`([^`]+)`", text).group(1), outcome.strip()) for text, outcome in rows]  # type: ignore[union-attr]


EXPECTED = {"refused: BSN": ["a citizen service number (BSN)"], "refused: V-number": ["a V-number"], "accepted": []}


@pytest.mark.parametrize(("text", "outcome"), _examples())
def test_the_documented_screening_examples(text: str, outcome: str) -> None:
    assert identifying_numbers(text) == EXPECTED[outcome]


def test_the_table_of_examples_covers_every_kind() -> None:
    outcomes = [outcome for _, outcome in _examples()]
    assert set(outcomes) == set(EXPECTED) and len(outcomes) >= 25


def test_every_grouping_of_a_valid_bsn_is_refused_and_every_dutch_mobile_accepted() -> None:
    rng = random.Random(18)
    separators = ["", " ", "-", ".", "\u00a0", " - ", "/"]
    for _ in range(2000):
        number = f"{rng.randrange(10 ** 8):08d}"
        mobile = "06" + number
        assert identifying_numbers(f"call {mobile[:2]}{rng.choice(separators)}{mobile[2:]}") == [], mobile
        bsn = next(candidate for candidate in (f"{rng.randrange(10 ** 9):09d}" for _ in iter(int, 1))
                   if passes_eleven_test(candidate))
        cut = sorted(rng.sample(range(1, 9), 2))
        sep = rng.choice(separators[1:])
        written = f"{bsn[:cut[0]]}{sep}{bsn[cut[0]:cut[1]]}{sep}{bsn[cut[1]:]}"
        assert identifying_numbers(f"bsn {written} thanks") == ["a citizen service number (BSN)"], written
