"""Background work runs one way: a service declares `Job`s and passes them to create_service_app, never starting a
task or a sleeping loop of its own (verbinding_common.jobs runs them, stops them and shows them on /readyz)."""

from __future__ import annotations

import ast
import importlib
import os
import sys
import tomllib
from pathlib import Path

import pytest

from verbinding_common.app import jobs_of

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(path for path in (ROOT / "services").iterdir() if (path / "pyproject.toml").is_file())
TASK_STARTERS = {"create_task", "ensure_future", "start_soon"}


def own_loops(source: str) -> list[str]:
    """Where `source` starts a task or loops forever with a sleep: what a Job does instead.

    A task group's tasks are not the module's own: the group ends with the function that opened it (a worker job's
    run), cancelling them. So `group.create_task(...)` on a group the module opens (`async with asyncio.TaskGroup()
    as group`) passes, and so does a sleeping loop in a function called inside such a block; `asyncio.create_task`,
    `ensure_future` and a sleeping loop anywhere else do not.
    """
    tree = ast.parse(source)
    groups, run_in_groups = _task_groups(tree)
    grouped = {id(loop) for function in ast.walk(tree)
               if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and function.name in run_in_groups
               for loop in ast.walk(function) if isinstance(loop, ast.While)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in TASK_STARTERS and _receiver(node) not in groups:
            found.append(f"{node.lineno}: {_called(node)}()")
        if (isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and node.test.value is True
                and id(node) not in grouped
                and any(isinstance(inner, ast.Call) and _called(inner) == "sleep" for inner in ast.walk(node))):
            found.append(f"{node.lineno}: while True with a sleep")
    return sorted(found, key=lambda where: int(where.split(":")[0]))


def _task_groups(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(the names `async with asyncio.TaskGroup() as name` binds, the functions called inside those blocks)."""
    groups: set[str] = set()
    run_in_groups: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.AsyncWith):
            continue
        for item in node.items:
            if isinstance(item.context_expr, ast.Call) and _called(item.context_expr) == "TaskGroup":
                if isinstance(item.optional_vars, ast.Name):
                    groups.add(item.optional_vars.id)
                run_in_groups |= {_called(call) for statement in node.body for call in ast.walk(statement)
                                  if isinstance(call, ast.Call)} - {None}
    return groups, run_in_groups


def declared_jobs(source: str) -> set[str]:
    """The names of the `Job(name=...)`s `source` declares."""
    return {keyword.value.value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and _called(node) == "Job"
            for keyword in node.keywords if keyword.arg == "name" and isinstance(keyword.value, ast.Constant)}


def _called(call: ast.Call) -> str | None:
    return getattr(call.func, "attr", getattr(call.func, "id", None))


def _receiver(call: ast.Call) -> str | None:
    """Whose method is called: `group` in `group.create_task()` and `self.group.create_task()`; None for a function."""
    owner = getattr(call.func, "value", None)
    return getattr(owner, "attr", getattr(owner, "id", None))


def runtime_modules(service: Path) -> list[Path]:
    return sorted(path for path in service.rglob("*.py")
                  if not {"tests", "migrations"} & set(path.relative_to(service).parts))


def test_the_scanners_see_a_hand_rolled_loop_and_a_declared_job() -> None:
    source = ("import asyncio\nasync def purge():\n    while True:\n        await asyncio.sleep(60)\n"
              "def start():\n    return asyncio.create_task(purge())\n"
              "def jobs():\n    return [Job(name='report-purge', run=purge, interval_s=60)]\n")
    assert own_loops(source) == ["3: while True with a sleep", "6: create_task()"]
    assert declared_jobs(source) == {"report-purge"}
    assert own_loops("async def drain(queue):\n    while True:\n        await queue.get()\n") == []


def test_a_task_group_a_worker_owns_passes_and_a_bare_task_beside_it_does_not() -> None:
    serving = ("import asyncio\nasync def serve(endpoint):\n    while True:\n        await asyncio.sleep(1)\n"
               "async def run(endpoints):\n    async with asyncio.TaskGroup() as serving:\n"
               "        for endpoint in endpoints:\n            serving.create_task(serve(endpoint))\n")
    assert own_loops(serving) == []
    assert own_loops(serving + "def start(endpoint):\n    return asyncio.create_task(serve(endpoint))\n") \
        == ["10: create_task()"]
    assert own_loops(serving.replace("serving.create_task", "asyncio.ensure_future")) == ["8: ensure_future()"]
    # A sleeping loop that no task group runs is still a periodic job of its own.
    ticking = "import asyncio\nasync def tick():\n    while True:\n        await asyncio.sleep(1)\n"
    assert own_loops(ticking + "async def run():\n    async with asyncio.TaskGroup() as group:\n"
                               "        group.create_task(work())\n") == ["3: while True with a sleep"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda path: path.name)
def test_no_service_starts_a_periodic_loop_of_its_own(service: Path) -> None:
    offenders = [f"{path.relative_to(ROOT)}:{where}" for path in runtime_modules(service)
                 for where in own_loops(path.read_text())]
    assert offenders == [], "declare a verbinding_common.jobs.Job and pass it to create_service_app"


@pytest.mark.parametrize("service", SERVICES, ids=lambda path: path.name)
def test_every_job_a_service_declares_reaches_create_service_app(service: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    declared = set().union(*(declared_jobs(path.read_text()) for path in runtime_modules(service)))
    running = {job.name for job in jobs_of(_app_of(service, monkeypatch))}
    assert "idempotency-key-purge" in running, "the library's own jobs run in every service"
    assert declared <= running, f"declared but never passed to create_service_app: {sorted(declared - running)}"


def _app_of(service: Path, monkeypatch: pytest.MonkeyPatch):
    """The app [tool.verbinding] `app` names, built with the code's development defaults (connects to nothing)."""
    module_name, attribute = tomllib.loads((service / "pyproject.toml").read_text())["tool"]["verbinding"]["app"] \
        .split(":", 1)
    if str(service) not in sys.path:
        monkeypatch.syspath_prepend(str(service))
    for name in [name for name in os.environ if name.startswith("VERBINDING_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VERBINDING_ENVIRONMENT", "development")
    return getattr(importlib.import_module(module_name), attribute)
