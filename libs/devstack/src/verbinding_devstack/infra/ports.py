"""Small helpers for picking and probing local TCP ports."""

from __future__ import annotations

import contextlib
import fcntl
import json
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# Ports handed out recently, by any process of this machine's user: a port picked now is often bound only seconds
# later (a PostgreSQL started after a migration run), and meanwhile the system would offer it to the next process
# asking (parallel test processes and test runs each starting stacks: "Port … is already in use").
LEDGER = Path(tempfile.gettempdir()) / "verbinding-ports.json"
HOLD_S = 600.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on this machine right now and was not handed out here in the last ten minutes."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct ports, each free now and not handed out here in the last ten minutes."""
    picked: list[int] = []
    with _ledger() as handed, contextlib.ExitStack() as sockets:
        now = time.time()
        while len(picked) < count:
            sock = sockets.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))  # held until all are picked, so none repeats
            port = sock.getsockname()[1]
            if now - handed.get(str(port), 0.0) > HOLD_S:
                picked.append(port)
                handed[str(port)] = now
        return picked


@contextlib.contextmanager
def _ledger() -> Iterator[dict[str, float]]:
    """The ledger, locked for this process while it picks; a missing or unreadable one starts empty."""
    with open(LEDGER, "a+", encoding="utf-8") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        file.seek(0)
        try:
            handed = {port: at for port, at in json.loads(file.read() or "{}").items()
                      if time.time() - at <= HOLD_S}
        except (ValueError, AttributeError, TypeError):
            handed = {}
        yield handed
        file.seek(0)
        file.truncate()
        file.write(json.dumps(handed))


def port_is_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 30.0) -> None:
    """Block until host:port accepts connections, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_is_open(port, host):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")
