"""What every end-to-end module driving a stack's gateway shares: a client of it (each module brings its `stack`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from verbinding_testing.stack import RunningStack


@pytest.fixture(scope="module")
async def gateway(stack: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=30, trust_env=False) as client:
        yield client
