"""Which of a service's routes the gateway publishes: declared once, on the route, in the service that owns it.

`APIRouter(route_class=PublicRoute)` marks every route of the router public (its OpenAPI operation carries
`x-verbinding-public: true`); the gateway publishes them under the service's public prefix (`[tool.verbinding]
public_prefix` in its pyproject.toml), with the roles its `allow(...)` declares. Routes of a plain router stay
internal: only the gateway's own code calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict

from .idempotency import IdempotentRoute

PUBLIC = "x-verbinding-public"


class PublicRoute(IdempotentRoute):
    """A route the gateway publishes; writes honour Idempotency-Key as every write does."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["openapi_extra"] = {**(kwargs.get("openapi_extra") or {}), PUBLIC: True}
        super().__init__(path, endpoint, **kwargs)


class RequestModel(BaseModel):
    """The base of every request body: a field the model does not declare is refused (422 naming it), never
    dropped in silence (a typo such as `duration_month` must not store a vacancy without its duration)."""

    model_config = ConfigDict(extra="forbid")


def body_models(app: FastAPI) -> dict[str, type[BaseModel]]:
    """Every request body model `app`'s routes take, by "METHOD path"."""
    found: dict[str, type[BaseModel]] = {}
    for context in iter_route_contexts(app.routes):
        field = getattr(context.original_route, "body_field", None) if isinstance(context.original_route,
                                                                                  APIRoute) else None
        annotation = field.field_info.annotation if field is not None else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found[f"{sorted(context.methods or ())} {context.path}"] = annotation
    return found


def models_allowing_extras(app: FastAPI) -> list[str]:
    """The request bodies of `app` (and every model nested in them) that would accept a field they do not
    declare."""
    loose: list[str] = []
    for route, model in body_models(app).items():
        for nested in _models_in(model):
            if nested.model_config.get("extra") != "forbid":
                loose.append(f"{route}: {nested.__name__}")
    return loose


def _models_in(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> list[type[BaseModel]]:
    seen = seen if seen is not None else set()
    if model in seen:
        return []
    seen.add(model)
    found = [model]
    for field in model.model_fields.values():
        for candidate in _types_in(field.annotation):
            found += _models_in(candidate, seen)
    return found


def _types_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [found for argument in get_args(annotation) for found in _types_in(argument)]
