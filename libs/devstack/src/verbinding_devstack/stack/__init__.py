"""The embedded stack: PostgreSQL, the broker and every service as local processes, supervised, stopped in order.

discovery (the services in the checkout) → config (ports, data, replicas) → lock (one stack per data folder) →
preflight (leftovers, busy ports) → processes (the services' processes, restarted when they exit) →
infrastructure (PostgreSQL and the broker while running) → runner (the `run` and `migrate` commands).
"""

from .config import DEFAULT_BROKER_PORT, DEFAULT_PG_PORT, HEALTH_TIMEOUT_S, STOP_TIMEOUT_S, StackConfig, parse_replicas
from .console import Console
from .discovery import ServiceSpec, StackError, discover_services, find_project_root
from .runner import Stack

__all__ = [
    "DEFAULT_BROKER_PORT", "DEFAULT_PG_PORT", "HEALTH_TIMEOUT_S", "STOP_TIMEOUT_S", "Console", "ServiceSpec", "Stack",
    "StackConfig", "StackError", "discover_services", "find_project_root", "parse_replicas",
]
