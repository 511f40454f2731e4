"""Where the stack keeps its data, which ports it listens on, how many processes each service runs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verbinding_common.auth import ensure_key_files

from .discovery import ServiceSpec, StackError, discover_services, find_project_root

GATEWAY = "gateway"
HOST = "127.0.0.1"
DEFAULT_PG_PORT = 54329
DEFAULT_BROKER_PORT = 9092
RESERVED_PORTS = {5432: "the system PostgreSQL"}
STOP_TIMEOUT_S = 30.0
HEALTH_TIMEOUT_S = 60.0
MAX_REPLICAS = 16
# Every topic gets at least this many partitions (the library's default), more when a service runs more
# processes than that: a consumer group member without a partition idles.
MIN_TOPIC_PARTITIONS = 3


def _int_from(value: object, what: str) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise StackError(f"{what} must be a whole number, not {value!r}") from None


def parse_replicas(text: str) -> dict[str, int]:
    """'intake=2,case-plan=2' → {'intake': 2, 'case-plan': 2}."""
    replicas: dict[str, int] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, count = part.partition("=")
        if not name or not count.strip().isdigit():
            raise StackError(f"replicas are NAME=COUNT[,NAME=COUNT...], e.g. intake=2,case-plan=2, not {part!r}")
        replicas[name.strip()] = int(count)
    return replicas


def _unknown(names: set[str], services: tuple[ServiceSpec, ...], services_dir: Path) -> StackError | None:
    unknown = sorted(names - {service.name for service in services})
    if not unknown:
        return None
    known = ", ".join(service.name for service in services) or "none"
    return StackError(f"no service called {', '.join(unknown)} in {services_dir} (services: {known})")


@dataclass(frozen=True)
class StackConfig:
    """Where the stack keeps its data and which ports it listens on."""

    data_dir: Path
    services_dir: Path
    services: tuple[ServiceSpec, ...]
    pg_port: int
    broker_port: int
    service_ports: Mapping[str, int]
    stop_timeout: float = STOP_TIMEOUT_S
    health_timeout: float = HEALTH_TIMEOUT_S
    replicas: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        *,
        data_dir: Path | None = None,
        services_dir: Path | None = None,
        pg_port: int | None = None,
        broker_port: int | None = None,
        port_offset: int | None = None,
        service_ports: Mapping[str, int] | None = None,
        stop_timeout: float = STOP_TIMEOUT_S,
        health_timeout: float = HEALTH_TIMEOUT_S,
        replicas: Mapping[str, int] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> StackConfig:
        """Options beat VERBINDING_* variables, which beat the defaults; the offset moves defaults only."""
        env = os.environ if env is None else env
        root = find_project_root()
        data_dir = Path(data_dir or env.get("VERBINDING_DATA_DIR") or root / ".data").resolve()
        services_dir = Path(services_dir or env.get("VERBINDING_SERVICES_DIR") or root / "services").resolve()
        services = tuple(discover_services(services_dir))
        offset = _int_from(port_offset if port_offset is not None else env.get("VERBINDING_PORT_OFFSET", 0),
                           "the port offset")

        def port(given: int | None, variable: str, default: int) -> int:
            if given is not None:
                return given
            if env.get(variable):
                return _int_from(env[variable], variable)
            return default + offset

        overrides = dict(service_ports or {})
        if error := _unknown(set(overrides), services, services_dir):
            raise error
        counts = dict(replicas) if replicas else parse_replicas(env.get("VERBINDING_REPLICAS", ""))
        if error := _unknown(set(counts), services, services_dir):
            raise error
        for name, count in counts.items():
            if not 1 <= count <= MAX_REPLICAS:
                raise StackError(f"{name} can run 1 to {MAX_REPLICAS} processes, not {count}")
        return cls(
            data_dir=data_dir,
            services_dir=services_dir,
            services=services,
            pg_port=port(pg_port, "VERBINDING_PG_PORT", DEFAULT_PG_PORT),
            broker_port=port(broker_port, "VERBINDING_BROKER_PORT", DEFAULT_BROKER_PORT),
            service_ports={
                service.name: port(overrides.get(service.name), f"VERBINDING_{service.env_name}_PORT",
                                   service.port)
                for service in services
            },
            stop_timeout=stop_timeout,
            health_timeout=health_timeout,
            replicas={name: count for name, count in counts.items() if count != 1},
        )

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "stack.lock"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def broker_log(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def trace_file(self) -> Path:
        return self.data_dir / "traces.jsonl"

    @property
    def broker_address(self) -> str:
        return f"{HOST}:{self.broker_port}"

    @property
    def postgres_url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.pg_port}"

    @property
    def topic_partitions(self) -> int:
        return max(MIN_TOPIC_PARTITIONS, *self.replicas.values(), 1)

    def replica_count(self, service: ServiceSpec) -> int:
        return self.replicas.get(service.name, 1)

    def service_url(self, name: str) -> str:
        return f"http://{HOST}:{self.service_ports[name]}"

    def database_url(self, service: ServiceSpec) -> str:
        return f"postgresql+asyncpg://postgres@{HOST}:{self.pg_port}/{service.database}"

    def service_log(self, service: ServiceSpec, replica: int = 1) -> Path:
        suffix = "" if replica == 1 else f".{replica}"
        return self.log_dir / f"{service.name}{suffix}.log"

    def service_env(self, service: ServiceSpec) -> dict[str, str]:
        """The environment a service (and its migrations) runs with."""
        env = dict(os.environ)
        env.update(
            VERBINDING_SERVICE_NAME=service.name,
            VERBINDING_ENVIRONMENT="development",
            VERBINDING_DATABASE_URL=self.database_url(service),
            VERBINDING_KAFKA_BOOTSTRAP_SERVERS=self.broker_address,
            VERBINDING_KAFKA_TOPIC_PARTITIONS=str(self.topic_partitions),
            VERBINDING_TRACE_FILE=str(self.trace_file),
            PYTHONPATH=os.pathsep.join(filter(None, [str(service.import_root), env.get("PYTHONPATH")])),
            PYTHONUNBUFFERED="1",
        )
        for other in self.services:
            env[f"VERBINDING_{other.env_name}_URL"] = self.service_url(other.name)
        # Services accept only identities the gateway signed; only the gateway gets the private key.
        signing_key, public_key = ensure_key_files(self.data_dir / "keys")
        env["VERBINDING_IDENTITY_PUBLIC_KEY_FILE"] = str(public_key)
        if service.name == GATEWAY:
            env["VERBINDING_IDENTITY_SIGNING_KEY_FILE"] = str(signing_key)
            # Tokens it issued stay valid across its restarts, and every gateway process accepts them.
            env["VERBINDING_TOKEN_SIGNING_KEY_FILE"] = str(ensure_key_files(self.data_dir / "keys", "token")[0])
        return env

    def summary(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "postgres": {"url": self.postgres_url, "port": self.pg_port},
            "broker": {"address": self.broker_address, "port": self.broker_port},
            "services": {s.name: {"url": self.service_url(s.name), "processes": self.replica_count(s)}
                         for s in self.services},
            "trace_file": str(self.trace_file),
        }
