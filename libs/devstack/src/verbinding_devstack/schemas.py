"""`make schemas`: the JSON Schema of every event contract, and the event catalogue (Markdown and AsyncAPI) from them.

`python -m verbinding_devstack.schemas [ROOT]` writes tests/contract/schemas/*.json, docs/events.md and
docs/asyncapi.yaml under the repository at ROOT (default: the one this runs in).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from verbinding_common.contracts import load_all
from verbinding_common.events import json_schema

from . import catalogue, eventdocs
from .stack import find_project_root

SCHEMA_DIR = Path("tests/contract/schemas")


def schemas() -> dict[str, dict[str, Any]]:
    return {name: json_schema(item) for name, item in load_all().items()}


def generated(root: Path) -> dict[Path, str]:
    """Every file `make schemas` writes, by path relative to `root`, with its text."""
    current = schemas()
    files = {SCHEMA_DIR / f"{name}.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
             for name, schema in current.items()}
    events = catalogue.build(root)
    files[Path("docs/events.md")] = eventdocs.markdown(events, current)
    files[Path("docs/asyncapi.yaml")] = eventdocs.asyncapi(events)
    return files


def write(root: Path) -> list[Path]:
    written = []
    for relative, text in generated(root).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What a consumer of `old` would trip over in `new`: removed fields, changed types, new required fields."""
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for field, spec in old_props.items():
        if field not in new_props:
            problems.append(f"field {field!r} was removed")
        elif _type_of(spec) != _type_of(new_props[field]):
            problems.append(f"field {field!r} changed type {_type_of(spec)} -> {_type_of(new_props[field])}")
    for field in set(new.get("required", [])) - set(old.get("required", [])):
        problems.append(f"field {field!r} became required")
    return problems


def _type_of(spec: dict[str, Any]) -> Any:
    if "anyOf" in spec:
        return sorted(str(_type_of(option)) for option in spec["anyOf"])
    return spec.get("type", spec.get("$ref"))


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else find_project_root()):
        print(path)
