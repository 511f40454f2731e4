"""What the deployment checks share: the repository's paths and services, and finding a rendered object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from verbinding_devstack.stack import ServiceSpec, discover_services

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("local", "production")
SERVICES = discover_services(ROOT / "services")


def service_ids(specs: list[ServiceSpec]) -> list[str]:
    return [spec.name for spec in specs]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    return next((item for item in objects if item["kind"] == kind and item["metadata"]["name"] == name), None)
