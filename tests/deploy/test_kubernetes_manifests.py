"""deploy/k8s: every overlay renders, core objects validate strictly, custom resources match our schemas, and the
manifests agree with the code (each service's parts, ports and probes, Kafka ACLs equal to the event catalogue)."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml
from deploy_support import K8S, OVERLAYS, ROOT, SERVICES, find, service_ids, setting_variables

from verbinding_common import health
from verbinding_common.contracts import topic_retention_hours
from verbinding_common.settings import ServiceSettings
from verbinding_devstack import catalogue, manifests, published
from verbinding_devstack.stack import ServiceSpec

Render = Callable[[Path], list[dict[str, Any]]]
# The Kubernetes version the manifests are written for; kubernetes-validate ships its schemas (no download).
KUBERNETES_VERSION = "1.33.0"
CUSTOM_SCHEMAS = {
    ("kafka.strimzi.io/v1", "Kafka"): "strimzi-kafka.json",
    ("kafka.strimzi.io/v1", "KafkaNodePool"): "strimzi-kafkanodepool.json",
    ("kafka.strimzi.io/v1", "KafkaTopic"): "strimzi-kafkatopic.json",
    ("kafka.strimzi.io/v1", "KafkaUser"): "strimzi-kafkauser.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg-cluster.json",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): "cnpg-scheduledbackup.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "prometheus-operator-podmonitor.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheus-operator-prometheusrule.json",
}
# All vendored from the operators' own CRDs (deploy/schemas/README.md): an object there is open unless closed here
# the way the API server treats it (unknown fields pruned, refused by `kubectl apply --validate=strict`).
SERVICE_FOLDERS = sorted(path.name for path in (K8S / "base" / "services").iterdir() if path.is_dir())
SERVICE_NAMES = {spec.name for spec in SERVICES}


def base_resources() -> list[str]:
    return yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())["resources"]


def overlay(render: Render, name: str) -> list[dict[str, Any]]:
    return render(K8S / "overlays" / name)


def is_custom(item: dict[str, Any]) -> bool:
    return item["apiVersion"].split("/")[0].endswith((".strimzi.io", ".cnpg.io", "monitoring.coreos.com"))


def custom_schema(schema_file: str) -> dict[str, Any]:
    return closed(json.loads((ROOT / "deploy" / "schemas" / schema_file).read_text()))


def closed(schema: Any) -> Any:
    """A CRD's structural schema as the API server applies it: an object with properties admits no other field
    (unless it says x-kubernetes-preserve-unknown-fields); `metadata` is the server's to check."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {key: closed(value) for key, value in schema.items()}
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        schema["additionalProperties"] = False
    return schema


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_overlay_renders_and_each_core_object_validates_strictly(kustomize: Render, name: str) -> None:
    assert KUBERNETES_VERSION in kubernetes_validate.utils.all_versions(), (
        f"the installed kubernetes-validate ships no schemas for Kubernetes {KUBERNETES_VERSION}: pin a version it has")
    objects = overlay(kustomize, name)
    core = [item for item in objects if not is_custom(item)]
    assert {item["kind"] for item in core} >= {"Deployment", "Service", "Job", "NetworkPolicy"}
    for item in core:
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
            pytest.fail(f"overlay {name}: {item['kind']} {item['metadata']['name']}: {error}")


def test_strict_validation_refuses_a_field_kubernetes_does_not_know() -> None:
    deployment = manifests.deployment(manifests.Unit("probe", 8999, "probe", True, {"write": [], "read": [],
                                                                                     "groups": []}, ()))
    kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True  # misspelt
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_custom_resource_matches_its_operators_own_schema(kustomize: Render, name: str) -> None:
    custom = [item for item in overlay(kustomize, name) if is_custom(item)]
    backups = {"ScheduledBackup"} if name == "production" else set()  # no object store on a laptop
    assert {item["kind"] for item in custom} == {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "Cluster",
                                                 "PodMonitor", "PrometheusRule", *backups}
    for item in custom:
        schema_file = CUSTOM_SCHEMAS.get((item["apiVersion"], item["kind"]))
        assert schema_file, f"no schema under deploy/schemas/ for {item['apiVersion']} {item['kind']}"
        schema = custom_schema(schema_file)
        errors = [f"{list(error.absolute_path)}: {error.message}"
                  for error in jsonschema.Draft202012Validator(schema).iter_errors(item)]
        assert not errors, f"overlay {name}: {item['kind']} {item['metadata']['name']}: {errors}"


def test_a_monitoring_resource_with_an_unknown_field_is_refused_by_the_upstream_schema(kustomize: Render) -> None:
    [monitor] = [copy.deepcopy(item) for item in overlay(kustomize, "local") if item["kind"] == "PodMonitor"
                 and item["metadata"]["name"] == "verbinding-services"]  # a copy: the rendering is shared
    schema = custom_schema("prometheus-operator-podmonitor.json")
    jsonschema.Draft202012Validator(schema).validate(monitor)
    monitor["spec"]["podMetricsEndpoints"][0]["scrapeInterval"] = "30s"  # the operator calls it interval
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(monitor)


def test_a_custom_resource_with_an_unknown_field_is_refused() -> None:
    schema = custom_schema("strimzi-kafkatopic.json")
    topic = manifests.kafka_topics(("intake.persons.v1",))[0]
    jsonschema.Draft202012Validator(schema).validate(topic)
    topic["spec"]["replication"] = 3  # Strimzi calls it replicas
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(topic)


@pytest.mark.parametrize("folder", SERVICE_FOLDERS)
def test_a_service_folder_is_deployed_exactly_when_its_service_exists(kustomize: Render, folder: str) -> None:
    listed = f"services/{folder}" in base_resources()
    if folder in SERVICE_NAMES:
        assert listed, (f"services/{folder} exists but deploy/k8s/base/kustomization.yaml does not deploy it: "
                        f"add `- services/{folder}` to its resources (and run `make manifests`)")
    else:
        assert not listed, (f"deploy/k8s/base/kustomization.yaml deploys services/{folder}, but there is no "
                            f"services/{folder}: remove that line, or delete deploy/k8s/base/services/{folder}")
        # Written ahead of its service: it must still render and validate, ready to be listed.
        for item in kustomize(K8S / "base" / "services" / folder):
            if not is_custom(item):
                kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("spec", SERVICES, ids=service_ids(SERVICES))
def test_each_service_folder_is_what_make_manifests_writes_from_the_code(spec: ServiceSpec) -> None:
    units, _ = manifests.units(ROOT)
    unit = next(unit for unit in units if unit.name == spec.name)
    folder = K8S / "base" / "services" / spec.name
    for file_name, documents in manifests.folder(unit).items():
        path = folder / file_name
        assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run `make manifests`"
        committed = [item for item in yaml.safe_load_all(path.read_text()) if item]
        assert committed == documents, f"{path.relative_to(ROOT)} is out of date with the code: run `make manifests`"


@pytest.mark.parametrize("name", OVERLAYS)
@pytest.mark.parametrize("spec", SERVICES, ids=service_ids(SERVICES))
def test_every_service_has_its_parts_with_the_port_and_probes_of_its_settings(
        kustomize: Render, name: str, spec: ServiceSpec) -> None:
    objects = overlay(kustomize, name)
    hint = f"overlay {name}, service {spec.name} (run `make manifests`; is it listed in deploy/k8s/base?)"
    parts = {(kind, part_name): find(objects, kind, part_name) for kind, part_name in [
        ("Deployment", spec.name), ("Service", spec.name), ("ServiceAccount", spec.name),
        ("ConfigMap", f"{spec.name}-config"), ("HorizontalPodAutoscaler", spec.name),
        ("PodDisruptionBudget", spec.name), ("NetworkPolicy", spec.name), ("KafkaUser", spec.name),
        ("Cluster", f"{spec.name}-db"), *([("Job", f"{spec.name}-migrate")] if spec.alembic_ini else []),
    ]}
    missing = [f"{kind} {part_name}" for (kind, part_name), item in parts.items() if item is None]
    assert not missing, f"{hint}: missing {missing}"

    pod = parts[("Deployment", spec.name)]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert [port["containerPort"] for port in container["ports"]] == [spec.port]
    served = {route.path for route in health.router.routes}  # what every service answers, from the library
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz" and "/readyz" in served
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz" and "/healthz" in served
    assert container["startupProbe"]["httpGet"]["path"] in served
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert re.fullmatch(rf"[a-z0-9.-]+\.[a-z]+(:[0-9]+)?/verbinding/{spec.name}:[\w.-]+", container["image"]), (
        f"{hint}: the image is not fully qualified with a registry and a tag: {container['image']}")
    assert_locked_down(pod, container, hint)
    service = parts[("Service", spec.name)]["spec"]
    assert [port["port"] for port in service["ports"]] == [spec.port]
    assert service["selector"] == parts[("Deployment", spec.name)]["spec"]["selector"]["matchLabels"]
    config = parts[("ConfigMap", f"{spec.name}-config")]["data"]
    unknown = {key for key in config if key.startswith("VERBINDING_")} - setting_variables(spec)
    assert not unknown, f"{hint}: {sorted(unknown)} name no setting of the service: a typo, or a renamed setting"
    assert config["VERBINDING_SERVICE_NAME"] == spec.name
    assert config["VERBINDING_KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert config["VERBINDING_KAFKA_SASL_USERNAME"] == spec.name
    if spec.alembic_ini:
        job_pod = parts[("Job", f"{spec.name}-migrate")]["spec"]["template"]["spec"]
        assert job_pod["containers"][0]["args"] == ["migrate"]
        assert_locked_down(job_pod, job_pod["containers"][0], hint)
    cluster = parts[("Cluster", f"{spec.name}-db")]["spec"]["bootstrap"]["initdb"]
    assert (cluster["database"], cluster["owner"]) == (spec.database, spec.database)


def assert_locked_down(pod: dict[str, Any], container: dict[str, Any], hint: str) -> None:
    image_user = re.search(r"^USER (\d+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert image_user, "the Dockerfile must name a numeric USER (runAsNonRoot needs one)"
    security = container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True and security["runAsNonRoot"] is True, hint
    assert security["runAsUser"] == int(image_user.group(1)) != 0, hint
    assert security["readOnlyRootFilesystem"] is True, hint
    assert security["allowPrivilegeEscalation"] is False, hint
    assert security["capabilities"] == {"drop": ["ALL"]}, hint


def granted(user: dict[str, Any]) -> dict[str, list[str]]:
    rights: dict[str, set[str]] = {"write": set(), "read": set(), "groups": set()}
    for rule in user["spec"]["authorization"]["acls"]:
        resource, operations = rule["resource"], set(rule["operations"])
        assert resource["patternType"] == "literal", f"{user['metadata']['name']}: {resource} is not one name"
        if resource["type"] == "group":
            assert operations == {"Read"}
            rights["groups"].add(resource["name"])
        elif resource["type"] == "topic" and operations == {"Describe", "Write"}:
            rights["write"].add(resource["name"])
        elif resource["type"] == "topic" and operations == {"Describe", "Read"}:
            rights["read"].add(resource["name"])
        else:
            pytest.fail(f"KafkaUser {user['metadata']['name']}: unexpected right {rule}")
    return {kind: sorted(names) for kind, names in rights.items()}


@pytest.mark.parametrize("name", OVERLAYS)
def test_kafka_users_hold_exactly_the_rights_of_the_event_catalogue(
        kustomize: Render, name: str, acl_map: dict[str, dict[str, list[str]]]) -> None:
    users = {item["metadata"]["name"]: item for item in overlay(kustomize, name) if item["kind"] == "KafkaUser"}
    assert set(users) == set(acl_map) | SERVICE_NAMES, (
        f"overlay {name}: KafkaUsers {sorted(users)} but the catalogue's principals are {sorted(acl_map)} "
        f"and the services {sorted(SERVICE_NAMES)}")
    empty = {"write": [], "read": [], "groups": []}
    for principal, user in users.items():
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        assert granted(user) == acl_map.get(principal, empty), f"overlay {name}: KafkaUser {principal}"


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_consumer_a_service_starts_may_read_its_topics_with_its_group(kustomize: Render, name: str) -> None:
    users = {item["metadata"]["name"]: granted(item) for item in overlay(kustomize, name)
             if item["kind"] == "KafkaUser"}
    for subscription in catalogue.subscriptions(ROOT):
        rights = users[subscription.service]
        assert set(subscription.topics) <= set(rights["read"]) and subscription.group in rights["groups"], (
            f"overlay {name}: KafkaUser {subscription.service} may not read {list(subscription.topics)} as "
            f"{subscription.group} ({subscription.module}); run `make manifests`")
    dead_letters_read = {who: [t for t in rights["read"] if t.endswith(".dlq")] for who, rights in users.items()}
    assert {who: topics for who, topics in dead_letters_read.items() if topics} == {}, (
        f"overlay {name}: dead letters are for operators, no service reads them")
    assert "shelter.capacity.v1" in users["capacity-hub"]["read"] and "capacity-hub" in users["capacity-hub"]["groups"]


def test_only_the_gateway_and_the_coa_may_write_the_coa_topic(kustomize: Render, event_catalogue: Any) -> None:
    coa_topic = next(topic for topic in event_catalogue.topics if topic.startswith("coa."))
    for name in OVERLAYS:
        writers = {item["metadata"]["name"] for item in overlay(kustomize, name) if item["kind"] == "KafkaUser"
                   and coa_topic in granted(item)["write"]}
        assert writers == {"gateway", "coa"}, f"overlay {name}: {coa_topic} writable by {sorted(writers)}"


def test_every_topic_and_its_dead_letters_are_kafka_topics_with_retentions_of_their_own(
        kustomize: Render, event_catalogue: Any) -> None:
    for name, replicas, in_sync in (("local", 1, 1), ("production", 3, 2)):
        topics = {item["spec"]["topicName"]: item["spec"] for item in overlay(kustomize, name)
                  if item["kind"] == "KafkaTopic"}
        for topic in event_catalogue.topics:
            for each in (topic, f"{topic}.dlq"):
                assert each in topics, f"overlay {name}: no KafkaTopic {each} (run `make manifests`)"
                assert topics[each]["replicas"] == replicas, f"overlay {name}: {each}"
                assert topics[each]["config"]["min.insync.replicas"] == in_sync, f"overlay {name}: {each}"
            if (declared := topic_retention_hours(topic)) is not None:
                # Personal data for one consumer (the access answers): records and dead letters kept no longer.
                assert topics[topic]["config"]["retention.ms"] == declared * 3_600_000, f"overlay {name}: {topic}"
                assert topics[f"{topic}.dlq"]["config"]["retention.ms"] == declared * 3_600_000, topic
            else:
                assert topics[f"{topic}.dlq"]["config"]["retention.ms"] > topics[topic]["config"]["retention.ms"]
        assert topics["intake.access-answers.v1"]["config"]["retention.ms"] == 24 * 3_600_000
        kafka = next(item for item in overlay(kustomize, name) if item["kind"] == "Kafka")["spec"]["kafka"]
        assert kafka["config"]["default.replication.factor"] == replicas
        assert kafka["config"]["auto.create.topics.enable"] is False


def policies(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["metadata"]["name"]: item["spec"] for item in objects if item["kind"] == "NetworkPolicy"}


def test_traffic_is_denied_by_default_except_dns(kustomize: Render) -> None:
    for name in OVERLAYS:
        found = policies(overlay(kustomize, name))
        assert found["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        dns = found["allow-dns"]["egress"][0]["ports"]
        assert {(port["protocol"], port["port"]) for port in dns} == {("UDP", 53), ("TCP", 53)}


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_collector_the_services_send_to_takes_their_traces_and_their_logs(kustomize: Render, name: str) -> None:
    objects = overlay(kustomize, name)
    endpoints = {item["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] for item in objects
                 if item["kind"] == "ConfigMap" and "OTEL_EXPORTER_OTLP_ENDPOINT" in item.get("data", {})}
    assert endpoints == {"http://otel-collector:4318"}
    collector = find(objects, "ConfigMap", "otel-collector")
    assert collector is not None
    config = yaml.safe_load(collector["data"]["config.yaml"])
    for signal in ("traces", "logs"):
        pipeline = config["service"]["pipelines"][signal]
        assert pipeline["receivers"] == ["otlp"] and all(exporter in config["exporters"]
                                                         for exporter in pipeline["exporters"]), signal


# The ports PodMonitors name that a policy gives by number (CloudNativePG's exporter).
PORT_NUMBERS = {"metrics": 9187}


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_monitoring_namespace_may_scrape_exactly_the_pods_and_port_of_every_pod_monitor(kustomize: Render,
                                                                                             name: str) -> None:
    objects = overlay(kustomize, name)
    monitors = [item for item in objects if item["kind"] == "PodMonitor"]
    assert {item["metadata"]["name"] for item in monitors} >= {"verbinding-services", "verbinding-postgres",
                                                                "verbinding-kafka"}
    admitted = [(spec["podSelector"], port["port"]) for spec in policies(objects).values()
                for rule in spec.get("ingress", [])
                if {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
                in rule.get("from", []) for port in rule.get("ports", [])]
    for monitor in monitors:
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            ports = {endpoint["port"], PORT_NUMBERS.get(endpoint["port"])}
            assert any(selector == monitor["spec"]["selector"] and port in ports for selector, port in admitted), (
                f"overlay {name}: nothing lets the monitoring namespace scrape {monitor['metadata']['name']}")


@pytest.mark.parametrize("name", OVERLAYS)
def test_kafka_serves_its_jmx_metrics_with_rules_from_a_config_map_the_overlay_holds(kustomize: Render,
                                                                                      name: str) -> None:
    """The CRD's own rule (a CEL expression, which the JSON schema check cannot run): jmxPrometheusExporter needs
    valueFrom; and the ConfigMap it names must exist beside the Kafka, or the operator stops reconciling it."""
    objects = overlay(kustomize, name)
    kafka = next(item for item in objects if item["kind"] == "Kafka")
    config = kafka["spec"]["kafka"]["metricsConfig"]
    assert config["type"] == "jmxPrometheusExporter" and "valueFrom" in config
    reference = config["valueFrom"]["configMapKeyRef"]
    config_map = find(objects, "ConfigMap", reference["name"])
    assert config_map is not None, f"overlay {name}: no ConfigMap {reference['name']} for the Kafka metrics"
    rules = yaml.safe_load(config_map["data"][reference["key"]])
    assert rules["lowercaseOutputName"] is True and rules["rules"]
    assert all(re.compile(rule["pattern"]) and rule["name"].startswith("kafka_") for rule in rules["rules"])
    assert kafka["spec"]["kafkaExporter"], "consumer lag as the broker sees it"


@pytest.mark.parametrize("spec", SERVICES, ids=service_ids(SERVICES))
def test_only_the_gateway_and_streams_are_reachable_from_outside_and_each_service_reaches_only_its_own_database(
        kustomize: Render, spec: ServiceSpec) -> None:
    streaming = published.publishes_a_stream(ROOT, spec.name)
    assert streaming == (spec.name == "capacity-hub"), "the gateway hands stream clients off to their service"
    for name in OVERLAYS:
        found = policies(overlay(kustomize, name))
        own = found[spec.name]
        sources = [peer for rule in own["ingress"] for peer in rule.get("from", [])]
        if spec.name == "gateway" or streaming:
            assert all("from" not in rule for rule in own["ingress"]), "anyone may call the gateway, or open a stream"
        else:
            assert sources == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway",
                                                                "app.kubernetes.io/part-of": "verbinding",
                                                                "app.kubernetes.io/component": "server"}}}]
        assert [port["port"] for rule in own["ingress"] for port in rule["ports"]] == [spec.port]
        reached = {tuple(sorted(peer["podSelector"]["matchLabels"].items()))
                   for rule in own["egress"] for peer in rule["to"]}
        expected = {(("cnpg.io/cluster", f"{spec.name}-db"),),
                    (("strimzi.io/cluster", "verbinding"), ("strimzi.io/kind", "Kafka")),
                    (("app.kubernetes.io/name", "otel-collector"),)}
        if spec.name == "gateway":
            expected |= {tuple(sorted(manifests.labels(other.name, "server").items()))
                         for other in SERVICES if other.name != "gateway"}
        assert reached == expected, f"overlay {name}: {spec.name} reaches {reached}"

        # Its database admits this service's pods, its own instances and the operator, nobody else.
        database = found[f"{spec.name}-db"]
        assert database["podSelector"] == {"matchLabels": {"cnpg.io/cluster": f"{spec.name}-db"}}
        admitted = [peer for rule in database["ingress"] for peer in rule["from"]]
        assert {"podSelector": {"matchLabels": {"app.kubernetes.io/name": spec.name}}} in admitted
        others = [peer for peer in admitted if "podSelector" in peer
                  and peer["podSelector"]["matchLabels"] not in ({"app.kubernetes.io/name": spec.name},
                                                                 {"cnpg.io/cluster": f"{spec.name}-db"})]
        assert not others, f"overlay {name}: {spec.name}'s database also admits {others}"
        for policy_name, policy in found.items():
            for rule in policy.get("egress", []):
                for peer in rule.get("to", []):
                    if peer.get("podSelector", {}).get("matchLabels", {}).get("cnpg.io/cluster") == f"{spec.name}-db":
                        assert policy_name in (spec.name, f"{spec.name}-db"), (
                            f"overlay {name}: policy {policy_name} lets other pods reach {spec.name}'s database")


def test_the_outside_parties_topics_and_users_are_what_make_manifests_writes(event_catalogue: Any) -> None:
    path = K8S / "base" / "kafka" / "external.yaml"
    expected = manifests.external(ROOT, event_catalogue, SERVICE_NAMES)
    assert list(yaml.safe_load_all(path.read_text())) == list(yaml.safe_load_all(expected)), (
        f"{path.relative_to(ROOT)} is out of date with the event catalogue: run `make manifests`")


@pytest.mark.parametrize("name", OVERLAYS)
def test_each_serving_pod_pauses_before_stopping_and_its_grace_period_covers_the_drain(kustomize: Render,
                                                                                        name: str) -> None:
    spec = importlib.util.spec_from_file_location("entrypoint", ROOT / "deploy" / "docker" / "entrypoint.py")
    assert spec is not None and spec.loader is not None
    entrypoint = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entrypoint)
    fields = ServiceSettings.model_fields
    drain_s = fields["shutdown_drain_s"].default
    # preStop, uvicorn's wait for connections, the jobs, the relay's last flush, the consumers (drained together).
    needed = (manifests.PRE_STOP_S + int(entrypoint.GRACEFUL_SHUTDOWN_S) + drain_s
              + fields["kafka_request_timeout_ms"].default / 1000 + drain_s)
    for deployment in [item for item in overlay(kustomize, name) if item["kind"] == "Deployment"
                       and item["metadata"]["labels"].get("app.kubernetes.io/part-of") == "verbinding"
                       and item["metadata"]["name"] in SERVICE_NAMES]:
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["lifecycle"]["preStop"]["sleep"]["seconds"] == manifests.PRE_STOP_S
        assert pod["terminationGracePeriodSeconds"] > needed, deployment["metadata"]["name"]


def test_only_the_api_versions_the_stated_operators_serve_have_a_schema() -> None:
    """Strimzi 1.0 serves kafka.strimzi.io/v1 alone: a v1beta2 resource finds no schema, so the check above fails."""
    served = {json.loads((ROOT / "deploy" / "schemas" / file).read_text())["properties"]["apiVersion"]["type"]
              for file in CUSTOM_SCHEMAS.values()}
    assert served == {"string"}  # the CRDs leave apiVersion open: the version is checked by the key below
    assert ("kafka.strimzi.io/v1beta2", "KafkaTopic") not in CUSTOM_SCHEMAS
    assert all(api in {"kafka.strimzi.io/v1", "postgresql.cnpg.io/v1", "monitoring.coreos.com/v1"}
               for api, _ in CUSTOM_SCHEMAS)
    assert manifests.kafka_topics(("intake.persons.v1",))[0]["apiVersion"] == "kafka.strimzi.io/v1"


@pytest.mark.parametrize(("kind", "path", "field"), [
    ("Kafka", ["spec"], "zookeeper"),  # gone with Strimzi 0.46; 1.0's schema has no such field
    ("KafkaUser", ["spec", "authorization", "acls", 0], "operation"),  # v1beta2's, removed in v1 (operations)
    ("Cluster", ["spec", "backup", "barmanObjectStore"], "destinationpath"),  # misspelt destinationPath
])
def test_the_upstream_schemas_refuse_what_the_stated_operators_refuse(
        kustomize: Render, kind: str, path: list[Any], field: str) -> None:
    [item, *_] = [copy.deepcopy(item) for item in overlay(kustomize, "production") if item["kind"] == kind]  # cached
    schema = custom_schema(CUSTOM_SCHEMAS[(item["apiVersion"], kind)])
    jsonschema.Draft202012Validator(schema).validate(item)
    target = item
    for step in path:
        target = target[step]
    target[field] = "x"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(item)
