"""What an ops team must give before `kubectl apply`, and what the overlays already give: fully qualified images,
placeholders that fail loudly and are all named in docs/deployment.md, PostgreSQL pinned and backed up, and every
Secret a pod or a database reads either created by the overlay, written by an operator, or documented."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import K8S, OVERLAYS, ROOT

from verbinding_devstack import databases, manifests

Render = Callable[[Path], list[dict[str, Any]]]
DOCS = (ROOT / "docs" / "deployment.md").read_text()
# Unresolvable on purpose: a pull from it or a backup to it fails at once.
PLACEHOLDERS = (manifests.IMAGE_REGISTRY, databases.PLACEHOLDER)
QUALIFIED = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]+(?::\d+)?/[a-z0-9._/-]+(?::[\w.-]+|@sha256:[0-9a-f]{64})")


def images(objects: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for item in objects:
        if item["kind"] == "Cluster":
            yield item["metadata"]["name"], item["spec"]["imageName"]
        pod = item.get("spec", {}).get("template", {}).get("spec", {}) if item["kind"] in {"Deployment", "Job"} else {}
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            yield item["metadata"]["name"], container["image"]


def unreplaced(objects: list[dict[str, Any]]) -> list[str]:
    text = yaml.safe_dump_all(objects)
    return sorted({line.strip() for line in text.splitlines() if any(mark in line for mark in PLACEHOLDERS)})


def secrets_read(objects: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(reader, Secret name) for every Secret a pod mounts or reads, or a database's backup uses."""
    def walk(node: Any, reader: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"secret", "secretRef", "secretKeyRef"} and isinstance(value, dict):
                    yield reader, value.get("secretName") or value["name"]
                elif key in {"accessKeyId", "secretAccessKey"} and isinstance(value, dict):
                    yield reader, value["name"]
                else:
                    yield from walk(value, reader)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value, reader)
    for item in objects:
        yield from walk(item.get("spec", {}), f"{item['kind']} {item['metadata']['name']}")


def operator_written(objects: list[dict[str, Any]]) -> set[str]:
    """Secrets the operators write: CloudNativePG's `<cluster>-app`; Strimzi's per KafkaUser and
    `<kafka>-cluster-ca-cert`."""
    by_kind = {kind: {item["metadata"]["name"] for item in objects if item["kind"] == kind}
               for kind in ("Cluster", "KafkaUser", "Kafka")}
    return ({f"{name}-app" for name in by_kind["Cluster"]} | by_kind["KafkaUser"]
            | {f"{name}-cluster-ca-cert" for name in by_kind["Kafka"]})


def documented_secrets() -> set[str]:
    """The Secrets docs/deployment.md's Secrets table says you create."""
    section = DOCS[DOCS.index("### Secrets"):]
    section = section[:section.index("\n### ", 1)]
    return {name for row in section.splitlines() if row.startswith("|") and row.rstrip("|").split("|")[-1].strip()
            .startswith("you") for name in re.findall(r"Secret `([a-z0-9-]+)`", row)}


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_image_is_fully_qualified_and_pinned(kustomize: Render, name: str) -> None:
    found = list(images(kustomize(K8S / "overlays" / name)))
    assert len(found) > 10
    loose = [(owner, image) for owner, image in found if not QUALIFIED.fullmatch(image) or image.endswith(":latest")]
    assert not loose, f"overlay {name}: images without a registry host, or without a tag or digest: {loose}"


def test_the_placeholders_fail_loudly_and_docs_name_each_with_what_replaces_it(kustomize: Render) -> None:
    left = unreplaced(kustomize(K8S / "overlays" / "production"))
    assert any(manifests.IMAGE_REGISTRY in line for line in left) and any(
        databases.PLACEHOLDER in line for line in left), "production shows which site values are still missing"
    assert manifests.IMAGE_REGISTRY.endswith(".invalid"), "RFC 2606: no such host can ever answer"
    bucket = databases.BACKUP_DESTINATION.removeprefix("s3://").split("/")[0]
    assert not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket), "no one can own an invalid bucket name"
    for placeholder in PLACEHOLDERS:
        assert f"`{placeholder}" in DOCS, f"docs/deployment.md does not say what replaces {placeholder}"


def test_a_site_overlay_done_as_the_docs_say_leaves_no_placeholder(kustomize: Render, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    patches = [{"target": {"kind": "Cluster"}, "patch": yaml.safe_dump([{
        "op": "replace", "path": "/spec/backup/barmanObjectStore/destinationPath",
        "value": "s3://city-backups/verbinding"}])}, {"target": {"kind": "ConfigMap", "name": "gateway-config"},
        "patch": yaml.safe_dump([{"op": "replace", "path": "/data/VERBINDING_PUBLIC_URLS",
                                  "value": '{"capacity-hub": "https://capacity.city.example.org"}'}])}]
    services = sorted(path.name for path in (K8S / "base" / "services").iterdir())
    renamed = [{"name": f"{manifests.IMAGE_REGISTRY}/verbinding/{service}",
                "newName": f"registry.example.org/{service}"} for service in services]
    (site / "kustomization.yaml").write_text(yaml.safe_dump({
        "resources": [os.path.relpath(K8S / "overlays" / "production", site)],
        "images": renamed, "patches": patches}))
    assert unreplaced(kustomize(site)) == []


def test_each_database_runs_compose_s_postgresql_and_production_backs_it_up_every_night(kustomize: Render) -> None:
    compose_postgres = re.search(r"^POSTGRES_IMAGE=postgres:(\d+\.\d+)", (ROOT / ".env").read_text(), re.MULTILINE)
    assert compose_postgres
    for name in OVERLAYS:
        clusters = [item for item in kustomize(K8S / "overlays" / name) if item["kind"] == "Cluster"]
        assert clusters and all(re.fullmatch(rf"ghcr\.io/cloudnative-pg/postgresql:{re.escape(compose_postgres[1])}"
                                             r"-system-[a-z]+", item["spec"]["imageName"]) for item in clusters)
    objects = kustomize(K8S / "overlays" / "production")
    clusters = {item["metadata"]["name"]: item for item in objects if item["kind"] == "Cluster"}
    scheduled = [item["spec"] for item in objects if item["kind"] == "ScheduledBackup"]
    assert sorted(item["cluster"]["name"] for item in scheduled) == sorted(clusters)
    for backup in scheduled:
        store = clusters[backup["cluster"]["name"]]["spec"]["backup"]["barmanObjectStore"]
        assert backup["method"] == "barmanObjectStore" and store["destinationPath"].endswith(backup["cluster"]["name"])
    assert "Restore drill" in DOCS


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_secret_read_is_created_by_the_overlay_written_by_an_operator_or_documented(
        kustomize: Render, name: str) -> None:
    objects = kustomize(K8S / "overlays" / name)
    created = {item["metadata"]["name"] for item in objects if item["kind"] == "Secret"}
    known = created | operator_written(objects) | documented_secrets()
    read = set(secrets_read(objects))
    assert {secret for _, secret in read} >= {"safe-reporting-report-key", "safe-reporting-receipt-pepper",
                                              "verbinding-identity-public"}
    unknown = sorted((reader, secret) for reader, secret in read if secret not in known)
    assert not unknown, (f"overlay {name}: Secrets nobody creates (add them to the overlay, or to docs/deployment.md's "
                         f"Secrets table as yours to create): {unknown}")
    if name == "local":  # and the local overlay's steps create each one a pod there needs
        steps = DOCS[DOCS.index("Secrets the local overlay needs"):]
        missing = {secret for _, secret in read if secret in documented_secrets() - created
                   and f"create secret generic {secret}" not in steps}
        assert not missing, f"docs/deployment.md's local steps do not create {sorted(missing)}"


def test_kafka_runs_compose_s_version_which_the_stated_strimzi_supports(kustomize: Render) -> None:
    compose_kafka = re.search(r"^KAFKA_IMAGE=apache/kafka:(\S+)$", (ROOT / ".env").read_text(), re.MULTILINE)
    for name in OVERLAYS:
        [kafka] = [item for item in kustomize(K8S / "overlays" / name) if item["kind"] == "Kafka"]
        assert compose_kafka and kafka["spec"]["kafka"]["version"] == compose_kafka[1]
        assert f"Kafka **{compose_kafka[1]}**" in DOCS, "docs/deployment.md states the Kafka version with Strimzi's"
