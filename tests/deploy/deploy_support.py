"""What the deployment checks share: the repository's paths and services, and finding a rendered object."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from verbinding_common.settings import SECRETS_DIR_VARIABLE, ServiceSettings
from verbinding_devstack.stack import ServiceSpec, discover_services

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("local", "production")
SERVICES = discover_services(ROOT / "services")


def service_ids(specs: list[ServiceSpec]) -> list[str]:
    return [spec.name for spec in specs]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    return next((item for item in objects if item["kind"] == kind and item["metadata"]["name"] == name), None)


def setting_variables(spec: ServiceSpec) -> set[str]:
    """Every VERBINDING_* variable the service's settings class reads."""
    module = importlib.import_module(f"{spec.app.split('.', 1)[0]}.settings")
    classes = [value for value in vars(module).values()
               if isinstance(value, type) and issubclass(value, ServiceSettings) and value is not ServiceSettings]
    assert classes, f"services/{spec.name}: no ServiceSettings subclass in {module.__name__}"
    return {SECRETS_DIR_VARIABLE} | {f"VERBINDING_{name.upper()}" for cls in classes for name in cls.model_fields}
