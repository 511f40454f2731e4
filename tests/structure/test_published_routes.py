"""One declaration per route: the gateway's routes are its own few, or mounted from what a service declares public;
the declarations the gateway reads are current; prefixes are the services' own; every request body refuses fields
it does not declare."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from gateway import mounted
from gateway.main import create_app
from gateway.settings import GatewaySettings

from verbinding_common.auth import generate_signing_key
from verbinding_common.routes import models_allowing_extras
from verbinding_devstack.catalogue import _app_of
from verbinding_devstack.published import generated
from verbinding_devstack.stack import ServiceSpec, StackError, discover_services

ROOT = Path(__file__).resolve().parents[2]
SERVICES = discover_services(ROOT / "services")
# What only the door does, written in the gateway: tokens and their keys, the COA push and its status, the composed
# overview.
OWN_MODULES = ("gateway.access.views", "gateway.coa.views", "gateway.persons.views")
OPEN = {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}


def gateway_routes() -> list[tuple[str, str, APIRoute]]:
    app = create_app(_gateway_settings())
    return [(method, context.path, context.original_route) for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute) and context.path not in OPEN
            for method in sorted(context.methods or ())]


def _gateway_settings() -> GatewaySettings:
    return GatewaySettings(environment="test", database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
                           kafka_bootstrap_servers="127.0.0.1:1",
                           identity_signing_key=generate_signing_key()[0])


def test_the_committed_declarations_are_what_the_services_declare() -> None:
    stale = [str(path) for path, text in generated(ROOT).items()
             if not (ROOT / path).is_file() or (ROOT / path).read_text() != text]
    committed = {path.name for path in (ROOT / mounted.PUBLISHED.relative_to(ROOT)).glob("*.json")}
    assert stale == [], "run `make routes`"
    assert committed == {path.name for path in generated(ROOT)}, "run `make routes`"


def test_every_gateway_route_is_its_own_or_mounted_from_a_declaration() -> None:
    declared = {(operation.method, operation.public_path) for operation in
                mounted.operations(mounted.declarations())}
    hand_written, mounted_routes = [], set()
    for method, path, route in gateway_routes():
        module = route.endpoint.__module__
        if module == mounted.__name__:
            mounted_routes.add((method, path))
        elif not module.startswith(OWN_MODULES):
            hand_written.append(f"{method} {path} ({module})")
    assert hand_written == []
    assert mounted_routes == declared


def test_no_two_services_share_a_public_prefix_and_none_is_the_gateways_own() -> None:
    prefixes = [service.public_prefix for service in SERVICES if service.public_prefix]
    assert len(prefixes) == len(set(prefixes)) == len(SERVICES) - 1  # every service but the gateway publishes
    own = [path for _, path, route in gateway_routes() if route.endpoint.__module__ != mounted.__name__]
    assert [path for path in own for prefix in prefixes if (path + "/").startswith(prefix + "/")] == []


def test_a_prefix_inside_another_services_prefix_is_refused(tmp_path: Path) -> None:
    for name, port, prefix in [("alpha", 9101, "/api/v1/shelter"), ("beta", 9102, "/api/v1/shelter/beds")]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "pyproject.toml").write_text(
            f'[tool.verbinding]\nport = {port}\napp = "{name}.main:app"\ndatabase = "{name}"\n'
            f'public_prefix = "{prefix}"\n')
    with pytest.raises(StackError, match="share the public prefix"):
        discover_services(tmp_path)


@pytest.mark.parametrize("service", [service for service in SERVICES if service.name != "gateway"],
                         ids=lambda service: service.name)
def test_every_request_body_refuses_fields_it_does_not_declare(service: ServiceSpec) -> None:
    assert models_allowing_extras(_app_of(service)) == []
