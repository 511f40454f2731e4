"""Before a start: stop what a killed run left behind, and refuse ports that are taken or reserved."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from ..infra.postgres import EmbeddedPostgres
from .config import HOST, RESERVED_PORTS, StackConfig
from .console import Console
from .discovery import StackError
from .lock import is_postgres_of, same_process


def can_listen(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def listener(port: int) -> str:
    """Who listens on `port`, as ' by pid N (command)', or '' when the system will not say."""
    try:
        for connection in psutil.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
                argv = psutil.Process(connection.pid).cmdline()
                command = " ".join([Path(argv[0]).name, *argv[1:]]) if argv else "?"
                if len(command) > 100:
                    command = command[:97] + "..."
                return f" by pid {connection.pid} ({command})"
    except psutil.Error:
        pass
    return ""


def check_ports(config: StackConfig, *, only_postgres: bool = False) -> None:
    """StackError naming the first port that is reserved, given twice, or already in use (and by whom)."""
    wanted = [("PostgreSQL", config.pg_port, "--pg-port")]
    if not only_postgres:
        wanted.append(("the broker", config.broker_port, "--broker-port"))
        wanted += [(name, port, f"--port {name}=PORT") for name, port in config.service_ports.items()]
    seen: dict[int, str] = {}
    for label, port, option in wanted:
        if port in RESERVED_PORTS:
            raise StackError(f"Port {port} belongs to {RESERVED_PORTS[port]}; give {label} another one "
                             f"with {option}.")
        if port in seen:
            raise StackError(f"{seen[port]} and {label} would both listen on port {port}.")
        seen[port] = label
        if not can_listen(port):
            raise StackError(
                f"Port {port} ({label}) is already in use{listener(port)}.\n"
                f"Stop that process, or give {label} another port with {option} "
                "(or move every default port with --port-offset N)."
            )


async def stop_leftovers(previous: Mapping[str, Any], postgres: EmbeddedPostgres, console: Console) -> None:
    """A run killed without its shutdown (SIGKILL, a crash) leaves processes behind: stop them."""
    leftovers = []
    for name, entry in previous.get("processes", {}).items():
        process = same_process(entry)
        if process is not None:
            console.say(f"{name} (pid {process.pid}) is still running from an earlier run that did "
                        "not stop cleanly; stopping it.")
            leftovers.append(process)
    for process in leftovers:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    if leftovers:
        _, alive = await asyncio.to_thread(psutil.wait_procs, leftovers, 10)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
    pid = postgres.pid()
    if pid and is_postgres_of(pid, postgres.data_dir):
        console.say(f"PostgreSQL (pid {pid}) is still running from an earlier run; stopping it.")
        # SIGINT is PostgreSQL's fast shutdown; pg_ctl would need the system user set up first.
        try:
            postmaster = psutil.Process(pid)
            postmaster.send_signal(signal.SIGINT)
            await asyncio.to_thread(postmaster.wait, 60)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            raise StackError(f"PostgreSQL (pid {pid}) did not stop within 60 s; stop it yourself") from None
