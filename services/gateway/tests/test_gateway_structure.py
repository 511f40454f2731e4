"""The gateway stays a door: its own code (without tests, migrations and the route tables `make routes` writes) is
under 1,500 lines. What any service could use belongs in verbinding_common, what a service owns in that service."""

from __future__ import annotations

from pathlib import Path

GATEWAY = Path(__file__).resolve().parents[1]
MAX_LINES = 1_500
# Not written by hand here: the tests, the schema migrations, and the services' declarations (`make routes`).
NOT_OWN = frozenset({"tests", "migrations", "published"})


def own_code() -> dict[str, int]:
    """Physical lines of every hand-written Python file of the gateway, by path."""
    return {str(path.relative_to(GATEWAY)): len(path.read_text().splitlines())
            for path in sorted(GATEWAY.rglob("*.py")) if not NOT_OWN & set(path.relative_to(GATEWAY).parts)}


def test_the_gateways_own_code_is_under_1500_lines() -> None:
    counted = own_code()
    assert "gateway/app.py" in counted and "migrations/env.py" not in counted
    largest = sorted(counted.items(), key=lambda item: -item[1])[:5]
    assert sum(counted.values()) < MAX_LINES, f"{sum(counted.values())} lines; the largest: {largest}"
