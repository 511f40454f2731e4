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
