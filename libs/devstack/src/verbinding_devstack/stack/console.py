"""The terminal: the stack's own lines and each service's output, prefixed with who said it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterable
from typing import TextIO


class Console:
    """Prints lines prefixed with who said them (in colour on a terminal)."""

    _COLOURS = (36, 32, 33, 35, 34, 91, 92, 93, 94, 95, 96)

    def __init__(self, names: Iterable[str], stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        names = list(names)
        self.width = max([len("verbinding"), *map(len, names)])
        colour = self.stream.isatty() and "NO_COLOR" not in os.environ
        self._colours = {name: c for name, c in zip(names, self._COLOURS * 3, strict=False)} if colour else {}
        if colour:
            self._colours["verbinding"] = 1

    def line(self, who: str, text: str) -> None:
        text = readable(text)
        prefix = f"{who:<{self.width}} |"
        if who in self._colours:
            prefix = f"\x1b[{self._colours[who]}m{prefix}\x1b[0m"
        self.write(f"{prefix} {text}")

    def say(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.line("verbinding", line)

    def write(self, text: str) -> None:
        # The terminal may be gone (SIGHUP); shutting down matters more than the message.
        with contextlib.suppress(OSError, ValueError):
            print(text, file=self.stream, flush=True)

    def error(self, message: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            print(message, file=sys.stderr, flush=True)


def exit_status(code: int | None) -> str:
    if code is not None and code < 0:
        return f"on {signal.Signals(-code).name}"
    return f"exit code {code}"


def seconds(since: float) -> str:
    return f"{time.monotonic() - since:.1f} s"


def readable(text: str) -> str:
    """A service's JSON log line as `LEVEL logger: message [trace …]` for the terminal (its log file keeps the JSON);
    any other line as it is."""
    if not text.startswith("{"):
        return text
    try:
        line = json.loads(text)
    except ValueError:
        return text
    if not isinstance(line, dict) or "message" not in line:
        return text
    error = f" ({line['error']})" if line.get("error") else ""
    trace = f" [trace {line['trace_id']}]" if line.get("trace_id") else ""
    return f"{line.get('level', ''):<7} {line.get('logger', '')}: {line['message']}{error}{trace}"

