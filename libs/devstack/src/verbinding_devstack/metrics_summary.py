"""`make metrics`: one screen of what every running service's `/metrics` says (requests, errors, lag, outbox, dead
letters, webhooks, waitlists, free beds, caseloads)."""

from __future__ import annotations

import re
import sys
import urllib.request
from collections import defaultdict

from .stack import StackConfig

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

# What is shown, per service: (title, metric, label that names each line or None for a total).
SHOWN = [
    ("requests", "http_server_request_duration_seconds_count", "http_response_status_code"),
    ("consumer lag", "verbinding_consumer_lag", "topic"),
    ("outbox backlog", "verbinding_outbox_backlog", None),
    ("oldest unpublished (s)", "verbinding_outbox_oldest_age_seconds", None),
    ("relay publish failures", "verbinding_relay_publish_failures_total", None),
    ("dead letters", "verbinding_dead_letters_total", "topic"),
    ("webhook attempts", "verbinding_webhook_attempts_total", "outcome"),
    ("webhook endpoints", "verbinding_webhook_endpoints", "status"),
    ("SSE clients", "verbinding_sse_clients", None),
    ("shelter waitlist", "verbinding_shelter_waitlist", "programme"),
    ("free beds", "verbinding_shelter_free_beds", "programme"),
    ("case waitlist", "verbinding_case_plan_waitlist", None),
    ("caseload fill", "verbinding_case_plan_caseload_fill", "team"),
    ("case managers at cap", "verbinding_case_plan_case_managers_at_cap", "team"),
]


def parse(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text: each metric's samples as (labels, value)."""
    found: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and not line.startswith("#"):
            found[match["name"]].append((dict(_LABEL.findall(match["labels"] or "")), float(match["value"])))
    return found


def summary(service: str, text: str) -> list[str]:
    """The lines of one service's screen part: only what it has."""
    samples = parse(text)
    lines = []
    for title, metric, by in SHOWN:
        if metric not in samples:
            continue
        totals: dict[str, float] = defaultdict(float)
        for labels, value in samples[metric]:
            totals[labels.get(by, "") if by else ""] += value
        shown = ", ".join(f"{key} {_number(value)}" if key else _number(value) for key, value in sorted(totals.items()))
        lines.append(f"  {title:<24} {shown}")
    return [service, *lines] if lines else [f"{service}: no metrics yet"]


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}"


def main() -> int:
    config = StackConfig.resolve()
    failed = 0
    for service in config.services:
        url = f"{config.service_url(service.name)}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                text = response.read().decode()
        except OSError as error:
            print(f"{service.name}: {url} does not answer ({type(error).__name__}); is `make run` running?")
            failed += 1
            continue
        print("\n".join(summary(service.name, text)))
    return 1 if failed == len(config.services) else 0


if __name__ == "__main__":
    sys.exit(main())
