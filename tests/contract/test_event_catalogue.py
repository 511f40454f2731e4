"""The event catalogue: generated from the contracts and the services' subscriptions, and committed as generated."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from verbinding_common.contracts import load_all
from verbinding_devstack import manifests
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


def _service(root: Path, name: str, package: str, topics: list[str], applies: list[str] | None = None, *,
             group: str | None = None, module: str = "things/consumers.py") -> None:
    """A throwaway service whose app starts one consumer of `topics` (applying the `applies` intake contracts),
    written in `module`; beside it, a `consumers.py` with a spec the app never starts."""
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
    (folder / package / module).write_text(textwrap.dedent(f"""
        from verbinding_common.consumer import ConsumerSpec
        from verbinding_common.contracts import intake

        async def handle(session, events):
            pass

        things = ConsumerSpec(topics={topics!r}, handler=handle, group_id={group!r},
                              events=[getattr(intake, name) for name in {applies or []!r}])
    """))
    if module != "things/consumers.py":
        (folder / package / "things" / "consumers.py").write_text(textwrap.dedent("""
            from verbinding_common.consumer import ConsumerSpec
            from verbinding_common.contracts.employment import PlacementStarted

            async def handle(session, events):
                pass

            never_started = ConsumerSpec(events=[PlacementStarted], handler=handle)
        """))
    spec_module = f"{package}." + module.removesuffix(".py").replace("/", ".")
    (folder / package / "main.py").write_text(textwrap.dedent(f"""
        from verbinding_common.app import create_service_app
        from verbinding_common.settings import ServiceSettings

        from {spec_module} import things

        app = create_service_app(settings=ServiceSettings(service_name={name!r}), title={name!r},
                                 consumers=[things])
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


def test_a_consumer_in_an_oddly_named_module_is_in_the_catalogue_and_in_the_kafka_rights(tmp_path: Path) -> None:
    _service(tmp_path, "oddity", "catalogue_oddity_app", ["intake.persons.v1"], applies=["PersonRegistered"],
             group="oddity-registrations", module="things/what_we_listen_for.py")
    catalogue = build(tmp_path)
    assert catalogue.events["intake.person-registered.v1"].consumers == ("oddity",)
    assert catalogue.topics["intake.persons.v1"].consumer_groups == {"oddity-registrations": "oddity"}
    # The consumers.py beside it holds a spec the app never starts: it is not a consumer.
    assert catalogue.events["employment.placement-started.v1"].consumers == ()
    [unit] = [unit for unit in manifests.units(tmp_path)[0] if unit.name == "oddity"]
    rules = {(rule["resource"]["type"], rule["resource"]["name"]): rule["operations"]
             for rule in manifests.kafka_user(unit.name, unit.acl)["spec"]["authorization"]["acls"]}
    assert rules == {("topic", "intake.persons.v1"): ["Describe", "Read"],
                     ("group", "oddity-registrations"): ["Read"],
                     ("topic", "intake.persons.v1.dlq"): ["Describe", "Write"]}


def test_a_group_reading_dead_letters_may_read_them_and_write_their_own(tmp_path: Path) -> None:
    _service(tmp_path, "mortician", "catalogue_mortician_app", ["intake.persons.v1.dlq"], group="mortician-dlq",
             module="things/afterlife.py")
    catalogue = build(tmp_path)
    assert catalogue.topics["intake.persons.v1"].dead_letter_groups == {"mortician-dlq": "mortician"}
    assert catalogue.events["intake.person-registered.v1"].consumers == ()
    assert acl_map(catalogue)["mortician"] == {
        "groups": ["mortician-dlq"], "read": ["intake.persons.v1.dlq"], "write": ["intake.persons.v1.dlq.dlq"]}


def test_no_service_reads_a_dead_letter_topic_dead_letters_are_for_operators() -> None:
    catalogue = build(ROOT)
    assert {name: topic.dead_letter_groups for name, topic in catalogue.topics.items()
            if topic.dead_letter_groups} == {}
    assert [(service, topic) for service, rights in acl_map(catalogue).items() for topic in rights["read"]
            if topic.endswith(".dlq")] == []


def test_intake_announces_its_rejections_and_the_gateway_no_longer_reads_them_from_dead_letters() -> None:
    rights = acl_map(build(ROOT))
    assert "intake.recognitions.v1" in rights["intake"]["write"]
    assert "gateway-coa-rejections" not in rights["gateway"]["groups"]


def test_the_coa_topic_is_written_by_the_gateway_and_the_coa_alone() -> None:
    writers = sorted(name for name, rights in acl_map(build(ROOT)).items()
                     if "coa.status-recognitions.v1" in rights["write"])
    assert writers == ["coa", "gateway"]


def test_a_subscription_to_a_topic_no_contract_declares_is_refused(tmp_path: Path) -> None:
    _service(tmp_path, "stray", "catalogue_stray_app", ["nobody.things.v1"])
    with pytest.raises(CatalogueError, match=re.escape("nobody.things.v1")):
        build(tmp_path)
