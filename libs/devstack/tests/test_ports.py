"""Ports handed out are not handed out again for a while, whichever process asks (parallel test processes and
runs each pick ports seconds before they bind them)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verbinding_devstack.infra import ports


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ports.json"
    monkeypatch.setattr(ports, "LEDGER", path)
    return path


def test_five_hundred_ports_picked_one_by_one_are_all_different(ledger: Path) -> None:
    # The system picks a free port at random: 500 picks from ~28,000 would repeat one about four times.
    picked = [ports.free_port() for _ in range(500)]
    assert len(set(picked)) == 500
    assert set(json.loads(ledger.read_text())) == {str(port) for port in picked}


def test_a_port_another_process_picked_is_not_picked_here(ledger: Path) -> None:
    script = f"import sys; from verbinding_devstack.infra import ports; ports.LEDGER = {str(ledger)!r}; " \
             "print(*ports.free_ports(300))"
    theirs = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    mine = ports.free_ports(300)
    assert not set(map(int, theirs.stdout.split())) & set(mine)


def test_entries_older_than_the_hold_are_forgotten_and_a_broken_ledger_starts_empty(ledger: Path) -> None:
    ledger.write_text(json.dumps({"1": time.time() - ports.HOLD_S - 1, "2": time.time()}))
    port = ports.free_port()
    assert set(json.loads(ledger.read_text())) == {"2", str(port)}
    ledger.write_text("not json")
    port = ports.free_port()
    assert json.loads(ledger.read_text()).keys() == {str(port)}
