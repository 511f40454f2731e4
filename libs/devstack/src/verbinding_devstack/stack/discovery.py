"""Finding the checkout and the services in it: every folder under services/ with a [tool.verbinding] table."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
PUBLIC_PREFIX = re.compile(r"^/api/v1(/[a-z][a-z0-9-]*)+$")


class StackError(Exception):
    """Something the developer can fix; it is printed as is and the command exits 1."""


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder upwards whose pyproject.toml declares the uv workspace, else `start`."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "workspace" in _toml(pyproject).get("tool", {}).get("uv", {}):
            return folder
    return start


def _toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise StackError(f"{path} is not valid TOML: {error}") from error


@dataclass(frozen=True)
class ServiceSpec:
    """One folder under services/ whose pyproject.toml has a [tool.verbinding] table."""

    name: str
    directory: Path
    port: int
    app: str
    database: str
    alembic_ini: Path | None = None
    public_prefix: str | None = None  # where the gateway publishes the service's public routes

    @property
    def env_name(self) -> str:
        return self.name.upper().replace("-", "_")

    @property
    def import_root(self) -> Path:
        src = self.directory / "src"
        return src if src.is_dir() else self.directory


def discover_services(services_dir: Path) -> list[ServiceSpec]:
    """Every service in `services_dir`, ordered by port."""
    if not services_dir.is_dir():
        return []
    services = []
    for pyproject in sorted(services_dir.glob("*/pyproject.toml")):
        table = _toml(pyproject).get("tool", {}).get("verbinding")
        if table is not None:
            services.append(_service_from_table(pyproject, table))
    for attribute in ("port", "database"):
        seen: dict[object, str] = {}
        for service in services:
            value = getattr(service, attribute)
            if value in seen:
                raise StackError(f"{seen[value]} and {service.name} both declare {attribute} {value}")
            seen[value] = service.name
    for service in services:
        for other in services:
            if service is not other and service.public_prefix and other.public_prefix and \
                    (other.public_prefix + "/").startswith(service.public_prefix + "/"):
                raise StackError(f"{service.name} and {other.name} share the public prefix {service.public_prefix}")
    return sorted(services, key=lambda service: service.port)


def _service_from_table(pyproject: Path, table: dict[str, Any]) -> ServiceSpec:
    directory = pyproject.parent.resolve()
    name = directory.name

    def fail(problem: str) -> StackError:
        return StackError(f"{pyproject} [tool.verbinding]: {problem}")

    if not _SERVICE_NAME.match(name):
        raise fail(f"folder name {name!r} must be lower-case letters, digits and '-'")
    port, app, database = table.get("port"), table.get("app"), table.get("database")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise fail(f"port must be a TCP port number, not {port!r}")
    if not isinstance(app, str) or ":" not in app:
        raise fail(f"app must be an import path like 'intake.main:app', not {app!r}")
    if not isinstance(database, str) or not DATABASE_NAME.match(database):
        raise fail(f"database must be lower-case letters, digits and '_', not {database!r}")
    alembic_ini = None
    if table.get("alembic"):
        alembic_ini = (directory / table["alembic"]).resolve()
        if not alembic_ini.is_file():
            raise fail(f"alembic file {alembic_ini} does not exist")
    public_prefix = table.get("public_prefix")
    if public_prefix is not None and not (isinstance(public_prefix, str) and PUBLIC_PREFIX.match(public_prefix)):
        raise fail(f"public_prefix must be a path like '/api/v1/intake', not {public_prefix!r}")
    return ServiceSpec(name, directory, port, app, database, alembic_ini, public_prefix)
