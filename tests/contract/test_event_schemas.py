"""Producers against the committed JSON Schemas: every contract has one, and changes stay backward compatible."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from verbinding_common.events import Envelope, parse_data
from verbinding_devstack.schemas import breaking_changes, schemas

SCHEMAS = Path(__file__).with_name("schemas")


def committed() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(SCHEMAS.glob("*.json"))}


def test_every_contract_has_a_committed_schema_that_matches_it() -> None:
    current = schemas()
    missing = sorted(set(current) - set(committed()))
    assert not missing, f"no committed schema for {missing}: run `make schemas` and commit tests/contract/schemas"
    for name, schema in current.items():
        assert committed()[name] == schema, f"{name} changed: run `make schemas`, review and commit the diff"


@pytest.mark.parametrize("name", sorted(committed()) or ["<none>"])
def test_committed_schema_is_still_honoured(name: str) -> None:
    if name == "<none>":
        assert schemas() == {}, "contracts exist but no schema is committed"
        return
    current = schemas()
    assert name in current, f"{name} was removed; publish a new major version instead"
    assert breaking_changes(committed()[name], current[name]) == []


def test_compatibility_check_catches_removed_and_newly_required_fields() -> None:
    old = {"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}
    assert breaking_changes(old, old) == []
    added_optional = {"properties": {**old["properties"], "c": {"type": "string"}}, "required": ["a"]}
    assert breaking_changes(old, added_optional) == []
    assert breaking_changes(old, {"properties": {"a": {"type": "string"}}, "required": ["a"]}) == \
        ["field 'b' was removed"]
    assert breaking_changes(old, {"properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                                  "required": ["a"]}) == ["field 'a' changed type string -> integer"]
    assert breaking_changes(old, {**old, "required": ["a", "b"]}) == ["field 'b' became required"]


EXAMPLES = Path(__file__).with_name("examples")


def validator(event_type: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(committed()[event_type])


def test_every_contract_has_a_golden_example() -> None:
    assert sorted(path.stem for path in EXAMPLES.glob("*.json")) == sorted(schemas())


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda path: path.stem)
def test_golden_example_matches_the_committed_schema_and_consumers_accept_it(path: Path) -> None:
    envelope = Envelope.model_validate_json(path.read_text())
    assert envelope.type == path.stem and envelope.specversion == "1.0"
    assert list(validator(envelope.type).iter_errors(envelope.data)) == []
    parsed = parse_data(envelope)  # what a consumer does with it
    assert parsed.model_dump(mode="json") == envelope.data


def test_schema_check_refuses_an_event_without_a_required_field() -> None:
    envelope = Envelope.model_validate_json((EXAMPLES / "intake.person-registered.v1.json").read_text())
    broken = {key: value for key, value in envelope.data.items() if key != "person_id"}
    errors = [error.message for error in validator(envelope.type).iter_errors(broken)]
    assert errors == ["'person_id' is a required property"]
