"""`make routes`: what each service publishes through the gateway, read off its app into the gateway's package.

A service marks its public routes with `APIRouter(route_class=PublicRoute)` and names their roles with `allow(...)`;
its pyproject's `[tool.verbinding] public_prefix` says where the gateway puts them. This writes, per service,
services/gateway/gateway/published/<service>.json: the service's own OpenAPI operations that are public (path,
method, parameters, bodies, answers), each with `x-roles` (sorted role names), and the component schemas they
refer to. The gateway mounts and documents its routes from these files alone: its image needs no service's code.
A currency test fails when a committed file differs from what the services declare.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

from verbinding_common.auth import allowed_roles
from verbinding_common.downstream import answers_a_stream
from verbinding_common.routes import PUBLIC

from .catalogue import _app_of
from .stack import ServiceSpec, discover_services, find_project_root

PUBLISHED_DIR = Path("services/gateway/gateway/published")
_REF = "#/components/schemas/"


def declaration(service: ServiceSpec) -> dict[str, Any]:
    """The public operations of `service`, as its own OpenAPI document describes them, with their roles."""
    app = _app_of(service)
    roles = {(method.lower(), context.path_format): sorted(role.value for role in allowed_roles(context) or ())
             for context in iter_route_contexts(app.routes) if isinstance(context.original_route, APIRoute)
             for method in context.methods or ()}
    document = app.openapi()
    paths: dict[str, dict[str, Any]] = {}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and operation.get(PUBLIC):
                if not roles.get((method, path)):
                    raise ValueError(f"{service.name}: {method.upper()} {path} is public but declares no roles")
                paths.setdefault(path, {})[method] = {**operation, "x-roles": roles[(method, path)]}
    schemas = document.get("components", {}).get("schemas", {})
    return {"service": service.name, "public_prefix": service.public_prefix, "paths": paths,
            "components": {"schemas": {name: schemas[name] for name in sorted(_referenced(paths, schemas))}}}


def _referenced(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    pending = _refs(paths)
    while pending:
        name = pending.pop()
        if name not in found and name in schemas:
            found.add(name)
            pending |= _refs(schemas[name])
    return found


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        own = {ref.removeprefix(_REF)} if isinstance(ref, str) and ref.startswith(_REF) else set()
        return own.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def generated(root: Path) -> dict[Path, str]:
    """Every file `make routes` writes, by path relative to `root`, with its text."""
    return {PUBLISHED_DIR / f"{service.name}.json": json.dumps(declaration(service), indent=1, sort_keys=True) + "\n"
            for service in discover_services(root / "services") if service.public_prefix}


def write(root: Path) -> list[Path]:
    written, files = [], generated(root)
    for stale in (root / PUBLISHED_DIR).glob("*.json"):
        stale.unlink()
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def publishes_a_stream(root: Path, name: str) -> bool:
    """Whether the service's published declaration (`make routes`) has an operation answering server-sent events."""
    path = root / PUBLISHED_DIR / f"{name}.json"
    if not path.exists():
        return False
    return any(answers_a_stream(operation)
               for item in json.loads(path.read_text())["paths"].values() for operation in item.values())


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else find_project_root()):
        print(path)

