"""The alerts and the dashboard name only metrics the code emits: the instruments are read from the code, made on a
real Prometheus exporter, and every metric an expression names must be among what it writes."""

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
SOURCES = [ROOT / "libs" / "common" / "src", *sorted((ROOT / "services").glob("*/*/"))]
INSTRUMENT = re.compile(r"(create_counter|create_histogram|create_gauge|create_up_down_counter|gauge)\(\s*"
                        r"\"(?P<name>[a-z][a-z0-9_.]+)\",\s*(?:\w+=)?[^)]*?unit=\"(?P<unit>[^\"]*)\"", re.S)
NAMED = re.compile(r"\b(?:verbinding|http_server)_[a-z0-9_]+\b")


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
    emitted = emitted_names()
    unknown = {(where, name) for where, expr in expressions() for name in NAMED.findall(expr) if name not in emitted}
    assert not unknown, f"named but never emitted (emitted: {sorted(emitted)}): {sorted(unknown)}"


def test_a_misspelt_metric_would_be_caught() -> None:
    assert "verbinding_dead_letter_total" not in emitted_names()
    assert "verbinding_dead_letters_total" in emitted_names()


def test_the_dashboard_is_valid_json_with_a_prometheus_target_per_panel() -> None:
    dashboard = json.loads(Path(MONITORING / "verbinding-dashboard.json").read_text())
    assert dashboard["uid"] == "verbinding" and all(panel["targets"] for panel in dashboard["panels"])
