"""Every route dependency of every service is async: FastAPI runs a plain `def` dependency in its thread pool, a
thread hop on every request for what is a few microseconds of work (seen as 12% of shelter-placement's CPU under
the placement burst)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from test_background_work import SERVICES, _app_of


def sync_dependencies(app: FastAPI) -> set[str]:
    found: set[str] = set()

    def walk(dependant) -> None:
        for sub in dependant.dependencies:
            call = sub.call
            if call is not None and not inspect.isclass(call) and not any(
                    check(call) or check(type(call).__call__)
                    for check in (inspect.iscoroutinefunction, inspect.isasyncgenfunction)):
                found.add(f"{call.__module__}.{call.__qualname__}")
            walk(sub)

    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            walk(context.original_route.dependant)
    return found


def test_the_scanner_sees_a_sync_dependency() -> None:
    def plain() -> int:
        return 1

    async def awaited() -> int:
        return 1

    app = FastAPI()

    @app.get("/", dependencies=[Depends(plain), Depends(awaited)])
    async def root() -> None:
        return None

    assert sync_dependencies(app) == {f"{__name__}.test_the_scanner_sees_a_sync_dependency.<locals>.plain"}


@pytest.mark.parametrize("service", SERVICES, ids=lambda path: path.name)
def test_no_route_dependency_runs_in_the_thread_pool(service: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sync_dependencies(_app_of(service, monkeypatch)) == set()
