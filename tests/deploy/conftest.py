"""Deployment checks' fixtures: the catalogue's Kafka rights, and overlays rendered once by `kubectl kustomize`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import ROOT

from verbinding_devstack import catalogue


@pytest.fixture(scope="session")
def event_catalogue() -> catalogue.Catalogue:
    return catalogue.build(ROOT)


@pytest.fixture(scope="session")
def acl_map(event_catalogue: catalogue.Catalogue) -> dict[str, dict[str, list[str]]]:
    return catalogue.acl_map(event_catalogue)


@pytest.fixture(scope="session")
def kustomize() -> Callable[[Path], list[dict[str, Any]]]:
    """Render a kustomization folder with `kubectl kustomize`; fails (never skips) without kubectl."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not installed: the Kubernetes manifests cannot be rendered, so they are NOT checked. "
                    "Install kubectl (it bundles kustomize) and run again.")
    cache: dict[Path, list[dict[str, Any]]] = {}

    def render(folder: Path) -> list[dict[str, Any]]:
        if folder not in cache:
            result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, f"kubectl kustomize {folder.relative_to(ROOT)} failed:\n{result.stderr}"
            cache[folder] = [item for item in yaml.safe_load_all(result.stdout) if item]
        return cache[folder]

    return render
