"""The services behind the gateway as route dependencies; the calls themselves are verbinding_common.downstream."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from verbinding_common.downstream import Downstream


def downstream(name: str) -> Any:
    """A route dependency: the service `name` behind the gateway."""

    async def of(request: Request) -> Downstream:
        return request.app.state.downstreams[name]

    return Depends(of)


IntakeDep = Annotated[Downstream, downstream("intake")]
CasePlanDep = Annotated[Downstream, downstream("case-plan")]
EmploymentDep = Annotated[Downstream, downstream("employment")]
