"""The README tells the truth about the services and the public API: its service table, the services' bullets and
the layout name every folder under services/, and its route table lists exactly the gateway's OpenAPI (mounted from
services/gateway/gateway/published/ and the gateway's own routes), method by method."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.main import create_app
from gateway.settings import GatewaySettings

from verbinding_common.auth import generate_signing_key
from verbinding_devstack.stack import discover_services

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
OPEN = {"/healthz", "/readyz"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
Route = tuple[str, str]


def section(text: str, heading: str) -> str:
    """The lines under `heading` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next((n for n in range(start, len(lines)) if re.match(rf"#{{1,{len(level)}}} ", lines[n])), len(lines))
    return "\n".join(lines[start:end])


def first_cells(table: str) -> list[str]:
    """The first cell of each row of the Markdown tables in `table` (headers and rules left out)."""
    rows = [re.split(r"(?<!\\)\|", line)[1].strip() for line in table.splitlines() if line.startswith("|")]
    return [row for row in rows[2:] if row and not set(row) <= set("-: ")] if rows else []


def normalised(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _joined(base: str, tail: str) -> str:
    """`…/tail` after `base`: from the base's segment the tail starts with (`…/case-managers/{id}` after
    `/…/case-managers`), else appended (`…/close` after `/…/cases/{case_id}`)."""
    segments, rest = base.split("/"), tail.strip("/").split("/")
    if rest[0] in segments:
        segments = segments[:len(segments) - segments[::-1].index(rest[0]) - 1]
    return "/".join([*segments, *rest])


def readme_routes(text: str) -> set[Route]:
    """Every (method, path) the route table names. A cell lists `METHOD /path` entries; `GET`/`POST /path` names
    two methods; `…/tail` continues the cell's last full path (with the last methods when it names none);
    `[/{v}]` is an optional tail; a query string is left out."""
    routes: set[Route] = set()
    for cell in first_cells(section(text, "### The public API (gateway; OpenAPI at `http://127.0.0.1:8000/docs`)")):
        pending: list[str] = []
        methods: list[str] = []
        base = ""
        for span in re.findall(r"`([^`]+)`", cell):
            if span in METHODS:
                pending.append(span)
                continue
            method, _, path = span.rpartition(" ")
            if (method and method not in METHODS) or not path.startswith(("/", "…")):
                continue
            if method:
                methods, pending = [*pending, method], []
            path = path.split("?")[0]
            if path.startswith("…"):
                path = _joined(base, path[1:])
            else:
                base = re.sub(r"\[.*\]", "", path)
            optional = re.fullmatch(r"(.*)\[(.*)\]", path)
            paths = [optional[1], optional[1] + optional[2]] if optional else [path]
            routes |= {(m, normalised(p)) for m in methods for p in paths}
    return routes


def readme_services(text: str) -> dict[str, set[str]]:
    """The services each part of the README names: the service table, the bullets under it, the layout row."""
    services = section(text, "## Services").split("\n### ")[0]
    layout = next(line for line in section(text, "## Layout").splitlines() if line.startswith("| `services/<name>/`"))
    return {"service table": {cell.strip("`") for cell in first_cells(services.split("\n- ")[0])},
            "service bullets": set(re.findall(r"^- \*\*([a-z-]+)\*\* —", services, re.MULTILINE)),
            "layout": set(re.findall(r"`([a-z-]+)`", layout.split("|")[2]))}


def openapi_routes() -> set[Route]:
    settings = GatewaySettings(environment="test", database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
                               kafka_bootstrap_servers="127.0.0.1:1", identity_signing_key=generate_signing_key()[0])
    paths = create_app(settings).openapi()["paths"]
    return {(method.upper(), normalised(path)) for path, operations in paths.items() if path not in OPEN
            for method in operations}


def differences(text: str, routes: set[Route], services: set[str]) -> list[str]:
    """What the README gets wrong, in words (nothing when it is current)."""
    found = []
    named = readme_routes(text)
    found += [f"README lacks the public route {method} {path}" for method, path in sorted(routes - named)]
    found += [f"README names a route the gateway has not: {method} {path}" for method, path in sorted(named - routes)]
    for where, names in readme_services(text).items():
        found += [f"README's {where} lacks the service {name}" for name in sorted(services - names)]
        found += [f"README's {where} names {name}, which is no service" for name in sorted(names - services)]
    return found


def actual_services() -> set[str]:
    return {service.name for service in discover_services(ROOT / "services")}


def test_the_readme_names_every_service_and_exactly_the_gateways_public_routes() -> None:
    assert differences(README.read_text(), openapi_routes(), actual_services()) == []


def test_a_service_or_route_added_without_the_readme_is_named() -> None:
    text = README.read_text()
    routes, services = openapi_routes(), actual_services()
    assert differences(text, routes | {("POST", "/api/v1/shelter/beds")}, services) == \
        ["README lacks the public route POST /api/v1/shelter/beds"]
    assert differences(text, routes, services | {"housing"}) == [
        f"README's {where} lacks the service housing" for where in ("service table", "service bullets", "layout")]
    removed = text.replace("`POST …/close`, ", "")
    assert differences(removed, routes, services) == [
        "README lacks the public route POST /api/v1/case-plan/cases/{}/close"]


def test_the_route_table_notation_reads_as_written() -> None:
    table = ("### The public API (gateway; OpenAPI at `http://127.0.0.1:8000/docs`)\n\n| route | roles |\n|---|---|\n"
             "| `GET`/`POST /a/things`, `PATCH …/things/{id}` | r |\n"
             "| `GET`/`DELETE /a/things/{id}`, `POST …/pause`, `…/resume` | r |\n"
             "| `GET /a/cases/{case_id}`, `POST …/close`, `GET …/plan/versions[/{v}]` (`?limit=…`) | `role` |\n")
    assert readme_routes(table) == {
        ("GET", "/a/things"), ("POST", "/a/things"), ("PATCH", "/a/things/{}"), ("GET", "/a/things/{}"),
        ("DELETE", "/a/things/{}"), ("POST", "/a/things/{}/pause"),
        ("POST", "/a/things/{}/resume"), ("GET", "/a/cases/{}"), ("POST", "/a/cases/{}/close"),
        ("GET", "/a/cases/{}/plan/versions"), ("GET", "/a/cases/{}/plan/versions/{}")}
