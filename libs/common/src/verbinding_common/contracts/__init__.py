"""The event contracts of every service, in one place: producers and consumers share them, services share nothing else.

Importing this package registers every contract (one module per producing service).
"""

from __future__ import annotations

import importlib
import pkgutil

from ..events import Contract, registered_contracts


def load_all() -> dict[str, Contract]:
    """Import every contract module here and return the contracts they register, by event type."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return {name: item for name, item in registered_contracts().items()
            if item.model.__module__.startswith(f"{__name__}.")}


def topic_retention_hours(topic: str) -> int | None:
    """How long the broker keeps the topic's records and dead letters: the shortest retention a contract on it
    declares (`topic_retention_hours`); None for the broker's default."""
    hours = [item.model.topic_retention_hours for item in load_all().values()  # type: ignore[attr-defined]
             if item.topic == topic and item.model.topic_retention_hours is not None]  # type: ignore[attr-defined]
    return min(hours, default=None)
