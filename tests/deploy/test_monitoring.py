"""The alerts and the dashboard name only metrics the code emits: the instruments are read from the code, made on a
real Prometheus exporter, and every metric an expression names must be among what it writes. Kafka's metrics are the
names the JMX exporter's rules (deploy/k8s/base/kafka/kafka-metrics-config.yml) make of the MBeans a Kafka node
registers, applied as the exporter applies them, and the Kafka Exporter's own."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from deploy_support import ROOT
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry, generate_latest

from verbinding_common.metrics import HTTP_DURATION

MONITORING = ROOT / "deploy" / "k8s" / "base" / "monitoring"
JMX_RULES = ROOT / "deploy" / "k8s" / "base" / "kafka" / "kafka-metrics-config.yml"
SOURCES = [ROOT / "libs" / "common" / "src", *sorted((ROOT / "services").glob("*/*/"))]
INSTRUMENT = re.compile(r"(create_counter|create_histogram|create_gauge|create_up_down_counter|gauge)\(\s*"
                        r"\"(?P<name>[a-z][a-z0-9_.]+)\",\s*(?:\w+=)?[^)]*?unit=\"(?P<unit>[^\"]*)\"", re.S)
NAMED = re.compile(r"\b(?:verbinding|http_server|kafka)_[a-z0-9_]+\b")
# MBeans of a Kafka 4.1 node (Kafka's documentation, Monitoring) the alerts and panels are about, as the JMX exporter
# reads them: `domain<key=value, ...><>attribute: value`, the keys in the order Kafka registers them.
KAFKA_MBEANS = (
    "kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Value: 0",
    "kafka.controller<type=KafkaController, name=OfflinePartitionsCount><>Value: 0",
    "kafka.controller<type=KafkaController, name=ActiveControllerCount><>Value: 1",
    "kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec, topic=intake.persons.v1><>Count: 10",
    "kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec><>Count: 10",
    "kafka.server<type=KafkaRequestHandlerPool, name=RequestHandlerAvgIdlePercent><>MeanRate: 0.9",
    "kafka.log<type=Log, name=Size, topic=intake.persons.v1, partition=0><>Value: 100",
    "kafka.server<type=raft-metrics><>current-state: leader",
)
# The Kafka Exporter Strimzi runs (danielqsj/kafka_exporter): the metric names its README documents.
KAFKA_EXPORTER_METRICS = {"kafka_brokers", "kafka_topic_partitions", "kafka_topic_partition_current_offset",
                          "kafka_topic_partition_oldest_offset", "kafka_consumergroup_current_offset",
                          "kafka_consumergroup_lag", "kafka_consumergroup_members"}


def instruments_in_code() -> list[tuple[str, str, str]]:
    found = [("create_histogram", HTTP_DURATION, "s")]
    for folder in SOURCES:
        for path in folder.rglob("*.py"):
            found += [(match[1], match["name"], match["unit"]) for match in INSTRUMENT.finditer(path.read_text())]
    return found


def emitted_names() -> set[str]:
    """What a scrape shows for every instrument in the code, written by the exporter the services use."""
    registry = CollectorRegistry()
    meter = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry, scope_info_enabled=False,
                                                                 disable_target_info=True)]).get_meter("check")
    for kind, name, unit in instruments_in_code():
        make = "create_gauge" if kind == "gauge" else kind
        instrument = getattr(meter, make)(name, unit=unit)
        getattr(instrument, "record" if make == "create_histogram" else "set" if make == "create_gauge" else "add")(1)
    return {line.split("{")[0].split(" ")[0] for line in generate_latest(registry).decode().splitlines()
            if line and not line.startswith("#")}


def jmx_exporter_names(mbeans: tuple[str, ...] = KAFKA_MBEANS) -> set[str]:
    """What the JMX exporter makes of each MBean with our rules: the first rule whose pattern matches (anchored as
    `^.*(?:pattern).*$`) names it, `$n` its groups, lowercased, invalid characters and runs of them made one `_`."""
    config = yaml.safe_load(JMX_RULES.read_text())
    names = set()
    for mbean in mbeans:
        for rule in config["rules"]:
            if match := re.match(rf"^.*(?:{rule['pattern']}).*$", mbean):
                name = re.sub(r"\$(\d+)", lambda group: match.group(int(group[1])), rule["name"])
                name = name.lower() if config.get("lowercaseOutputName") else name
                names.add(re.sub(r"[^a-zA-Z0-9:_]+", "_", name).replace("__", "_"))
                break
    return names


def expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    found = [(rule["alert"], rule["expr"]) for group in rules["spec"]["groups"] for rule in group["rules"]]
    dashboard: dict[str, Any] = json.loads((MONITORING / "verbinding-dashboard.json").read_text())
    return found + [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_code_has_the_instruments_the_alerts_are_about() -> None:
    names = {name for _, name, _ in instruments_in_code()}
    assert {"verbinding.dead_letters", "verbinding.consumer.lag", "verbinding.outbox.oldest_age",
            "verbinding.webhook.disablements", "verbinding.shelter.waitlist",
            "verbinding.case_plan.case_managers_at_cap"} <= names


def test_every_alert_and_panel_names_only_metrics_the_code_emits() -> None:
    emitted = emitted_names() | jmx_exporter_names() | KAFKA_EXPORTER_METRICS
    unknown = {(where, name) for where, expr in expressions() for name in NAMED.findall(expr) if name not in emitted}
    assert not unknown, f"named but never emitted (emitted: {sorted(emitted)}): {sorted(unknown)}"


def test_a_misspelt_metric_would_be_caught() -> None:
    assert "verbinding_dead_letter_total" not in emitted_names()
    assert "verbinding_dead_letters_total" in emitted_names()


def test_the_dashboard_is_valid_json_with_a_prometheus_target_per_panel() -> None:
    dashboard = json.loads(Path(MONITORING / "verbinding-dashboard.json").read_text())
    assert dashboard["uid"] == "verbinding" and all(panel["targets"] for panel in dashboard["panels"])


def test_kafka_alerts_read_the_jmx_exporters_names_and_a_rule_that_misses_an_mbean_would_be_caught() -> None:
    names = jmx_exporter_names()
    assert {"kafka_server_replicamanager_underreplicatedpartitions",
            "kafka_controller_kafkacontroller_offlinepartitionscount",
            "kafka_server_brokertopicmetrics_bytesin_total", "kafka_log_log_size"} <= names, names
    named = {name for _, expr in expressions() for name in NAMED.findall(expr) if name.startswith("kafka_")}
    assert named & names and named & KAFKA_EXPORTER_METRICS, "the alerts watch Kafka from both exporters"
    assert "kafka_server_replicamanager_underreplicatedpartitions" not in jmx_exporter_names(
        ("kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Count: 0",))


def test_the_jmx_rules_label_no_client_host_or_address() -> None:
    rules = yaml.safe_load(JMX_RULES.read_text())["rules"]
    labels = {label for rule in rules for label in rule.get("labels", {})}
    assert labels <= {"topic", "partition", "$1"}, labels
    assert not [rule["pattern"] for rule in rules if re.search(r"clientId|brokerHost|clientSoftware", rule["pattern"])]
