"""No event of ours has a field that could carry immigration status ("Free in, Free out" starts with the schema).

The one exception is the COA's own recognition: the national reception agency telling intake that a status was
granted. Only intake consumes it, and intake passes none of it on to other services (its events about persons carry
no COA number or origin). Intake's answer to the COA about a recognition it could not take in names the COA number
the COA itself sent, with a reason code and nothing else: the COA looks its status up by that number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).with_name("schemas")
THE_COAS_OWN_MESSAGE = "coa.status-recognised.v1"
THE_ANSWER_TO_THE_COA = "intake.recognition-rejected.v1"
ANSWER_FIELDS = {"coa_registration_number", "reason"}
# Not plain "status": a shelter or a case has a status of its own; immigration status is named by what it is.
STATUS_WORDS = ("legalstatus", "migrationstatus", "residencestatus", "vnumber", "vnummer", "vreemdeling", "alien",
                "bsn", "burgerservice", "passport",
                "nationality", "visa", "permit", "asylum", "residence", "immigration", "iddocument",
                "documentnumber", "filenumber", "dossier", "countryoforigin", "coaregistration", "indnumber")


def field_names(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        yield from schema.get("properties", {})
        for value in schema.values():
            yield from field_names(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from field_names(value)


def could_carry_status(name: str) -> bool:
    word = re.sub(r"[^a-z0-9]", "", name.lower())
    return any(part in word for part in STATUS_WORDS)


def test_no_event_schema_has_a_field_that_could_carry_immigration_status() -> None:
    offending = {path.stem: sorted({name for name in field_names(json.loads(path.read_text()))
                                    if could_carry_status(name)})
                 for path in SCHEMAS.glob("*.json") if path.stem not in (THE_COAS_OWN_MESSAGE, THE_ANSWER_TO_THE_COA)}
    assert {stem: names for stem, names in offending.items() if names} == {}


def test_the_answer_to_the_coa_carries_its_number_and_a_reason_code_and_nothing_else() -> None:
    schema = json.loads((SCHEMAS / f"{THE_ANSWER_TO_THE_COA}.json").read_text())
    assert set(schema["properties"]) == ANSWER_FIELDS
    assert set(field_names(schema)) == ANSWER_FIELDS


def test_the_check_recognises_status_fields_wherever_they_hide() -> None:
    schema = {"properties": {"a": {"type": "string"}, "cells": {"items": {"$ref": "#/$defs/X"}}},
              "$defs": {"X": {"properties": {"residenceStatus": {}, "V_number": {}, "Nationality": {}}}}}
    assert sorted(name for name in field_names(schema) if could_carry_status(name)) == \
        ["Nationality", "V_number", "residenceStatus"]
    # The COA's message does carry them, which is why it is the named exception.
    coa = json.loads((SCHEMAS / f"{THE_COAS_OWN_MESSAGE}.json").read_text())
    assert any(could_carry_status(name) for name in field_names(coa))
