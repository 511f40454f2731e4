"""One stack per data folder: an exclusive lock whose file describes the stack holding it."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from .discovery import StackError


class AlreadyRunning(StackError):
    def __init__(self, message: str, record: dict[str, Any]) -> None:
        super().__init__(message)
        self.record = record


def describe_running(record: Mapping[str, Any]) -> str:
    """The message a second `run` prints when the lock is taken."""
    pid = record.get("pid", "unknown")
    if record.get("command") == "migrate":
        return f"verbinding migrate is running (pid {pid}) on {record.get('data_dir')}; wait for it."
    parts = [f"{name} {entry['url']}" for name, entry in record.get("services", {}).items()]
    if "postgres" in record:
        parts.append(f"PostgreSQL {record['postgres']['url']}")
    if "broker" in record:
        parts.append(f"broker {record['broker']['address']}")
    where = f": {', '.join(parts)}" if parts else ""
    return (
        f"Verbinding is already running (pid {pid}){where}.\n"
        f"Stop it first (Ctrl-C in its terminal, or kill {pid}), or run a second stack beside it "
        "with its own --data-dir and ports (--port-offset N)."
    )


class StackLock:
    """An exclusive flock on <data>/stack.lock whose file describes the stack holding it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> dict[str, Any]:
        """Take the lock or raise AlreadyRunning; return what a run that never released it left behind."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # os.open file descriptors are not inherited, so no child keeps the lock after we exit.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            record = self._read(fd)
            os.close(fd)
            raise AlreadyRunning(describe_running(record), record) from None
        self._fd = fd
        return self._read(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def write(self, record: Mapping[str, Any]) -> None:
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(record, indent=2).encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    @staticmethod
    def _read(fd: int) -> dict[str, Any]:
        raw = os.pread(fd, 1 << 16, 0)
        try:
            record = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return {}
        return record if isinstance(record, dict) else {}


def process_entry(pid: int) -> dict[str, Any]:
    try:
        return {"pid": pid, "create_time": psutil.Process(pid).create_time()}
    except psutil.Error:
        return {"pid": pid}


def same_process(entry: Mapping[str, Any]) -> psutil.Process | None:
    """The process `entry` recorded, if it still runs (the start time guards against a reused pid)."""
    try:
        process = psutil.Process(entry["pid"])
        if process.create_time() != entry.get("create_time") or process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except (psutil.Error, KeyError, TypeError):
        return None


def is_postgres_of(pid: int, data_dir: Path) -> bool:
    """A stale postmaster.pid may name some other process by now; check it is our cluster's postmaster."""
    try:
        process = psutil.Process(pid)
        return process.name().startswith("postgres") and str(data_dir) in process.cmdline()
    except psutil.Error:
        return False
