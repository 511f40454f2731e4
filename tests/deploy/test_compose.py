"""docker-compose.yml: valid by the Compose specification, complete for every service under services/, Apache Kafka
set up whole, images pinned in .env; and, where a Docker daemon answers, the stack up and a recognition carried."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from deploy_support import ROOT, SERVICES, service_ids, setting_variables

from verbinding_devstack.infra.ports import free_port
from verbinding_devstack.stack import ServiceSpec
from verbinding_testing.fixtures import docker_daemon_answers

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
BLOCKS: dict[str, Any] = COMPOSE["services"]
SERVICE_NAMES = {spec.name for spec in SERVICES}
INFRASTRUCTURE = {"kafka", "postgres", "otel-collector", "jaeger", "dev-secrets"}
# Every variable the single-node KRaft broker needs once the image's defaults are gone.
KAFKA_SETTINGS = {
    "CLUSTER_ID", "KAFKA_NODE_ID", "KAFKA_PROCESS_ROLES", "KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "KAFKA_CONTROLLER_LISTENER_NAMES", "KAFKA_INTER_BROKER_LISTENER_NAME",
    "KAFKA_CONTROLLER_QUORUM_VOTERS", "KAFKA_LOG_DIRS", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    "KAFKA_DEFAULT_REPLICATION_FACTOR", "KAFKA_MIN_INSYNC_REPLICAS",
}


def dot_env() -> dict[str, str]:
    lines = (ROOT / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def active(name: str) -> bool:
    return not BLOCKS[name].get("profiles")


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((ROOT / "deploy" / "schemas" / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(COMPOSE)]
    assert not errors
    broken = json.loads(json.dumps(COMPOSE))
    broken["services"]["kafka"]["helthcheck"] = broken["services"]["kafka"].pop("healthcheck")
    assert not validator.is_valid(broken), "the vendored schema must refuse a misspelt key"


@pytest.mark.parametrize("spec", SERVICES, ids=service_ids(SERVICES))
def test_every_service_has_its_container_migration_step_health_check_and_database(spec: ServiceSpec) -> None:
    block = BLOCKS.get(spec.name)
    assert block, f"docker-compose.yml has no service {spec.name}: add its block (and {spec.name}-migrate)"
    assert active(spec.name), f"services/{spec.name} exists: remove `profiles` from its compose blocks"
    assert block["build"]["args"]["SERVICE"] == spec.name
    assert block["healthcheck"]["test"][-1] == "healthcheck"
    assert block["read_only"] is True and block["user"].split(":")[0].isdigit() and block["cap_drop"] == ["ALL"]
    environment = block["environment"]
    unknown = {key for key in environment if key.startswith("VERBINDING_")} - setting_variables(spec)
    assert not unknown, f"{spec.name}: {sorted(unknown)} name no setting of the service"
    assert environment["VERBINDING_KAFKA_ENABLE_IDEMPOTENCE"] == "true", "Apache Kafka: idempotent producers"
    assert environment["VERBINDING_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith("otel-collector:4318")
    assert "VERBINDING_TRACE_FILE" not in environment
    depends = block["depends_on"]
    for infrastructure in ("kafka", "postgres"):
        assert depends[infrastructure]["condition"] == "service_healthy"
    mounted = [volume["volume"]["subpath"] for volume in block["volumes"] if isinstance(volume, dict)]
    assert mounted == [spec.name], "each service sees only its own secrets"
    if spec.alembic_ini:
        migration = BLOCKS.get(f"{spec.name}-migrate")
        assert migration and active(f"{spec.name}-migrate"), f"{spec.name} has migrations: add {spec.name}-migrate"
        assert migration["command"] == ["migrate"] and migration["build"]["args"]["SERVICE"] == spec.name
        assert migration["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert depends[f"{spec.name}-migrate"]["condition"] == "service_completed_successfully"
    init = (ROOT / "deploy" / "compose" / "postgres" / "init-databases.sh").read_text()
    assert re.search(rf"^create_database {spec.database}$", init, re.MULTILINE), (
        f"deploy/compose/postgres/init-databases.sh does not create database {spec.database}")
    assert f"{spec.name}:{spec.database}" in BLOCKS["dev-secrets"]["command"]


def test_the_gateway_waits_for_every_service_it_calls_and_knows_where_they_are() -> None:
    gateway = BLOCKS["gateway"]
    for spec in SERVICES:
        if spec.name != "gateway":
            assert gateway["depends_on"][spec.name]["condition"] == "service_healthy", spec.name
            url = gateway["environment"][f"VERBINDING_{spec.env_name}_URL"]
            assert url == f"http://{spec.name}:{spec.port}"


def test_a_block_without_its_service_is_kept_out_of_the_default_profile() -> None:
    for name, block in BLOCKS.items():
        if name in INFRASTRUCTURE:
            continue
        service = name.removesuffix("-migrate")
        if service not in SERVICE_NAMES:
            assert block.get("profiles") == ["planned"], (
                f"docker-compose.yml runs {name}, but there is no services/{service}: give it `profiles: [planned]`, "
                f"or delete the blocks {service} and {service}-migrate")


def test_each_database_is_reachable_by_its_own_role_alone() -> None:
    init = (ROOT / "deploy" / "compose" / "postgres" / "init-databases.sh").read_text()
    assert 'CREATE DATABASE :"database" OWNER :"database";' in init
    assert 'REVOKE CONNECT, TEMPORARY ON DATABASE :"database" FROM PUBLIC;' in init
    assert "create_database safe_reporting" in init


def test_kafka_is_one_kraft_node_with_the_whole_set_of_settings_and_replication_factors_of_one() -> None:
    kafka = BLOCKS["kafka"]["environment"]
    assert KAFKA_SETTINGS <= set(kafka), f"missing {sorted(KAFKA_SETTINGS - set(kafka))}"
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    # kafka-storage format takes a UUID in URL-safe base64: 16 bytes, 22 characters.
    assert len(base64.urlsafe_b64decode(kafka["CLUSTER_ID"] + "==")) == 16
    for name, value in kafka.items():
        if name.endswith(("REPLICATION_FACTOR", "MIN_ISR", "MIN_INSYNC_REPLICAS")):
            assert int(value) == 1, name
    assert dot_env()["KAFKA_IMAGE"].startswith("apache/kafka:")


def test_images_are_pinned_in_dot_env_and_traces_reach_jaeger() -> None:
    pinned = dot_env()
    for name in INFRASTRUCTURE - {"dev-secrets"}:
        variable = re.fullmatch(r"\$\{(\w+)\}", BLOCKS[name]["image"])
        assert variable, f"{name}: the image comes from .env"
        image = pinned[variable.group(1)]
        assert re.search(r":\d+(\.\d+)+", image) and not image.endswith(":latest"), f"{name}: {image} is not pinned"
    for block in BLOCKS.values():
        assert block["image"].startswith("${") or block["image"].endswith(":${VERBINDING_TAG}")
    collector = yaml.safe_load((ROOT / "deploy" / "compose" / "otel-collector.yaml").read_text())
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert "otlp" in collector["service"]["pipelines"]["traces"]["receivers"]
    assert any(port.endswith(":16686") for port in BLOCKS["jaeger"]["ports"])
    assert pinned["JAEGER_IMAGE"].startswith("jaegertracing/jaeger:2.")


def test_the_infrastructure_restarts_by_itself_and_the_collector_takes_metrics_for_prometheus_and_logs() -> None:
    for name in INFRASTRUCTURE - {"dev-secrets"}:
        assert BLOCKS[name].get("restart") == "unless-stopped", f"{name} has no restart policy"
    collector = yaml.safe_load((ROOT / "deploy" / "compose" / "otel-collector.yaml").read_text())
    metrics = collector["service"]["pipelines"]["metrics"]
    assert metrics["receivers"] == ["otlp"] and metrics["exporters"] == ["prometheus"]
    # the services send their log records to the same endpoint: without a logs pipeline the collector refuses them
    logs = collector["service"]["pipelines"]["logs"]
    assert logs["receivers"] == ["otlp"] and all(name in collector["exporters"] for name in logs["exporters"])
    port = collector["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    assert any(published.endswith(f":{port}") for published in BLOCKS["otel-collector"]["ports"])


def test_the_image_installs_only_the_runtime_lock_with_hashes_and_runs_as_a_numeric_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile and "requirements-runtime.lock" in dockerfile
    assert "requirements.lock" not in dockerfile.replace("requirements-runtime.lock", "")
    assert re.search(r"^USER \d+:\d+$", dockerfile, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK ", dockerfile, re.MULTILINE)
    default_python = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert default_python and default_python.group(1) == dot_env()["PYTHON_IMAGE"], "one base image in both"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", default_python.group(1)), (
        "the base image is pinned by digest as well as by tag (docs/deployment.md, Images: how to read the digest)")
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert bases and all(base == "${PYTHON_IMAGE}" or "@sha256:" in base for base in bases), bases
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") + 1:][:1] == ["!requirements-runtime.lock"], "the context starts empty"


@pytest.fixture(scope="module")
def compose_stack() -> Iterator[dict[str, str]]:
    if shutil.which("docker") is None or not docker_daemon_answers():
        pytest.skip("no Docker daemon answers here: the images are not built and the compose stack is not started "
                    "(the checks above still ran)")
    project = f"verbinding-test-{uuid.uuid4().hex[:6]}"
    ports = {"VERBINDING_GATEWAY_PORT": str(free_port()), "VERBINDING_JAEGER_PORT": str(free_port())}
    env = {**os.environ, **ports}
    command = ["docker", "compose", "--project-directory", str(ROOT), "-p", project]
    try:
        subprocess.run([*command, "up", "--build", "--wait", "--wait-timeout", "600"], env=env, check=True,
                       timeout=1200)
        yield {"gateway": f"http://127.0.0.1:{ports['VERBINDING_GATEWAY_PORT']}",
               "jaeger": f"http://127.0.0.1:{ports['VERBINDING_JAEGER_PORT']}"}
    finally:
        subprocess.run([*command, "down", "--volumes", "--remove-orphans"], env=env, timeout=300)


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_compose_stack_comes_up_healthy_and_takes_a_recognition_to_a_case(compose_stack: dict[str, str]) -> None:
    with httpx.Client(base_url=compose_stack["gateway"], timeout=30, trust_env=False) as gateway:
        def token(**form: str) -> dict[str, str]:
            response = gateway.post("/oauth/token", data=form)
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}

        lead = token(grant_type="password", username="tl-carla", password="demo")
        coa = token(grant_type="client_credentials", client_id="coa", client_secret="coa-demo-secret")
        response = gateway.post("/api/v1/case-plan/case-managers", headers=lead,
                                json={"subject": "cm-anna", "name": "Anna", "languages": ["ar"]})
        assert response.status_code == 201, response.text
        recognition = {"coa_registration_number": "V-COMPOSE-1", "recognised_on": "2025-01-06",
                       "family_name": "Family", "given_names": "Person", "date_of_birth": "1990-05-17",
                       "gender": "female", "country_of_origin": "SY", "languages": ["ar"],
                       "reception_centre": "AZC Amsterdam Willinklaan"}
        response = gateway.post("/api/v1/coa/status-recognitions", headers=coa, json=recognition)
        assert response.status_code == 202, response.text
        trace_id = response.headers["X-Trace-Id"]
        deadline = time.monotonic() + 120
        while True:
            status = gateway.get("/api/v1/coa/status-recognitions/V-COMPOSE-1", headers=coa).json()
            if status.get("status") == "case_manager_assigned" or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert status["status"] == "case_manager_assigned", status

    deadline = time.monotonic() + 60
    while True:
        found = httpx.get(f"{compose_stack['jaeger']}/api/traces/{trace_id}", trust_env=False)
        services = {process["serviceName"] for trace in (found.json().get("data") or []) if found.status_code == 200
                    for process in trace["processes"].values()}
        if {"gateway", "intake", "case-plan"} <= services or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert {"gateway", "intake", "case-plan"} <= services, "one trace from the push to the case, in Jaeger"


def test_every_one_shot_step_is_awaited_by_a_long_running_container() -> None:
    # `up --wait` counts a container that exited as failed unless a running one depends on its completion.
    one_shots = {name for name, block in BLOCKS.items() if block.get("healthcheck", {}).get("disable") and active(name)}
    assert one_shots >= {"dev-secrets", *(f"{spec.name}-migrate" for spec in SERVICES if spec.alembic_ini)}
    for name in one_shots:
        awaiting = [other for other, block in BLOCKS.items() if other not in one_shots and active(other)
                    and isinstance(block.get("depends_on"), dict)
                    and block["depends_on"].get(name, {}).get("condition") == "service_completed_successfully"]
        assert awaiting, f"nothing long-running waits for {name} to complete: `docker compose up --wait` would fail"
