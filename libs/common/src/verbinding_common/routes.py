"""Which of a service's routes the gateway publishes: declared once, on the route, in the service that owns it.

`APIRouter(route_class=PublicRoute)` marks every route of the router public (its OpenAPI operation carries
`x-verbinding-public: true`); the gateway publishes them under the service's public prefix (`[tool.verbinding]
public_prefix` in its pyproject.toml), with the roles its `allow(...)` declares. Routes of a plain router stay
internal: only the gateway's own code calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .idempotency import IdempotentRoute

PUBLIC = "x-verbinding-public"


class PublicRoute(IdempotentRoute):
    """A route the gateway publishes; writes honour Idempotency-Key as every write does."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["openapi_extra"] = {**(kwargs.get("openapi_extra") or {}), PUBLIC: True}
        super().__init__(path, endpoint, **kwargs)
