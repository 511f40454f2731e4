"""The reader of a request, for the read audit."""

from typing import Annotated

from fastapi import Depends, Request

from verbinding_common.auth import CurrentIdentity

from .service import Reader


def current_reader(request: Request, identity: CurrentIdentity) -> Reader:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    return Reader(subject=identity.subject, roles=tuple(str(role) for role in identity.roles),
                  route=f"{request.method} {path}")


ReaderDep = Annotated[Reader, Depends(current_reader)]
