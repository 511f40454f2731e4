"""The event catalogue: generated from the contracts and the services' subscriptions, and committed as generated."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from verbinding_common.contracts import load_all
from verbinding_devstack.catalogue import CatalogueError, acl_map, build
from verbinding_devstack.schemas import generated

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_and_catalogue_are_what_make_schemas_generates() -> None:
    stale = [str(path) for path, text in generated(ROOT).items()
             if not (ROOT / path).is_file() or (ROOT / path).read_text() != text]
    assert stale == [], f"out of date: {stale}; run `make schemas`, review and commit the diff"


def test_every_reference_in_the_asyncapi_document_resolves() -> None:
    document = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            return [ref for key, value in node.items() for ref in ([value] if key == "$ref" else refs(value))]
        return [ref for value in node for ref in refs(value)] if isinstance(node, list) else []

    def resolves(ref: str) -> bool:
        node: object = document
        for part in ref.removeprefix("#/").split("/"):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    found = refs(document)
    assert found and [ref for ref in found if not resolves(ref)] == []


def test_every_contract_names_a_field_of_its_own_as_the_record_key() -> None:
    for name, item in load_all().items():
        key_field = getattr(item.model, "key_field", None)
        assert key_field in item.model.model_fields, f"{name}: declare key_field, the field the record is keyed by"


def test_every_field_of_every_contract_is_described() -> None:
    undescribed = [f"{name}.{field}" for name, item in load_all().items()
                   for field, info in item.model.model_fields.items()
                   if not info.description and not _described_type(item.model.model_json_schema(), field)]
    assert undescribed == [], f"give these fields a description (it is the catalogue's text): {undescribed}"


def _described_type(schema: dict, field: str) -> bool:
    spec = schema["properties"][field]
    ref = spec.get("$ref") or spec.get("items", {}).get("$ref")
    return bool(spec.get("description") or (ref and schema["$defs"][ref.rsplit("/", 1)[-1]].get("description")))


def _service(root: Path, name: str, package: str, topics: list[str], applies: list[str] | None = None) -> None:
    """A service folder whose consumers module subscribes to `topics`, applying the `applies` intake contracts."""
    folder = root / "services" / name
    (folder / package / "things").mkdir(parents=True)
    (folder / "pyproject.toml").write_text(textwrap.dedent(f"""
        [tool.verbinding]
        port = 18099
        app = "{package}.main:app"
        database = "{package}"
    """))
    (folder / package / "__init__.py").write_text("")
    (folder / package / "things" / "__init__.py").write_text("")
    (folder / package / "things" / "consumers.py").write_text(textwrap.dedent(f"""
        import dataclasses

        from verbinding_common.consumer import ConsumerSpec
        from verbinding_common.contracts import intake

        async def handle(session, events):
            pass

        applies = [getattr(intake, name) for name in {applies or []!r}]
        fields = {{field.name for field in dataclasses.fields(ConsumerSpec)}}
        extra = {{"events": applies}} if "events" in fields else {{}}
        things = ConsumerSpec(topics={topics!r}, handler=handle, **extra)
        if "events" not in fields and applies:
            things.events = applies
    """))


def test_consumers_are_read_from_what_a_service_subscribes_to(tmp_path: Path) -> None:
    _service(tmp_path, "listener", "catalogue_listener_app", ["intake.persons.v1"])
    catalogue = build(tmp_path)
    assert catalogue.events["intake.person-registered.v1"].consumers == ("listener",)
    assert catalogue.events["intake.interview-completed.v2"].consumers == ("listener",)
    assert catalogue.events["coa.status-recognised.v1"].consumers == ()
    assert acl_map(catalogue)["listener"] == {
        "groups": ["listener"], "read": ["intake.persons.v1"], "write": ["intake.persons.v1.dlq"]}


def test_an_event_type_a_subscriber_has_no_rule_for_is_listed_as_delivered_but_skipped(tmp_path: Path) -> None:
    _service(tmp_path, "picky", "catalogue_picky_app", ["intake.persons.v1"], applies=["PersonRegistered"])
    catalogue = build(tmp_path)
    assert catalogue.events["intake.person-registered.v1"].consumers == ("picky",)
    interview = catalogue.events["intake.interview-completed.v2"]
    assert (interview.consumers, interview.skipped_by) == ((), ("picky",))
    assert acl_map(catalogue)["picky"]["read"] == ["intake.persons.v1"]


def test_the_coa_topic_is_written_by_the_gateway_and_the_coa_alone() -> None:
    writers = sorted(name for name, rights in acl_map(build(ROOT)).items()
                     if "coa.status-recognitions.v1" in rights["write"])
    assert writers == ["coa", "gateway"]


def test_a_subscription_to_a_topic_no_contract_declares_is_refused(tmp_path: Path) -> None:
    _service(tmp_path, "stray", "catalogue_stray_app", ["nobody.things.v1"])
    with pytest.raises(CatalogueError, match=re.escape("nobody.things.v1")):
        build(tmp_path)
