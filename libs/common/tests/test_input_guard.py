"""Hostile input gets a 4xx from the library's one guard: size before parsing, NUL, depth, integer range, bad ids."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import APIRouter, Body, Depends, HTTPException
from sqlalchemy import text

from verbinding_common.app import create_service_app
from verbinding_common.db import SessionDep
from verbinding_common.input_guard import Int32
from verbinding_testing.fixtures import test_settings

router = APIRouter()
authenticated: list[str] = []


def must_authenticate() -> None:
    authenticated.append("checked")
    raise HTTPException(401, "no token")


@router.post("/guarded", dependencies=[Depends(must_authenticate)])
async def guarded(body: dict[str, Any] = Body()) -> dict[str, Any]:
    return body


@router.post("/echo")
async def echo(body: dict[str, Any] = Body()) -> dict[str, Any]:
    return {"keys": sorted(body)}


@router.get("/things/{thing_id}/versions/{version}")
async def thing_version(thing_id: UUID, version: Int32) -> dict[str, Any]:
    return {"thing_id": str(thing_id), "version": version}


@router.get("/search")
async def search(q: str = "") -> dict[str, str]:
    return {"q": q}


@router.post("/store")
async def store(session: SessionDep, body: dict[str, Any] = Body()) -> dict[str, Any]:
    # What the guard cannot know (this column is a 32-bit integer) the database refuses: a 422, not a 500.
    await session.execute(text("SELECT CAST(:n AS integer)"), {"n": body["n"]})
    return {"stored": True}


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = test_settings(database_url=database_url, bootstrap_servers="127.0.0.1:9", max_body_bytes=4096,
                             max_json_depth=8)
    app = create_service_app(settings=settings, title="guarded", routers=[router])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as http:
        yield http
    await app.state.engine.dispose()


async def test_a_body_over_the_limit_is_413_before_authentication_runs(client: httpx.AsyncClient) -> None:
    authenticated.clear()
    response = await client.post("/guarded", content=b'{"a": "' + b"x" * 10_000 + b'"}',
                                 headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert authenticated == [], "the size limit must act before the route's security dependency"


async def test_a_chunked_body_over_the_limit_is_413_too(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"a": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    authenticated.clear()
    response = await client.post("/guarded", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert authenticated == []


async def test_a_body_within_the_limit_reaches_the_route(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", json={"b": 1, "a": [1, 2, {"c": "ok"}]})
    assert response.status_code == 200 and response.json() == {"keys": ["a", "b"]}


@pytest.mark.parametrize("body, where", [
    (b'{"name": "Lina\\u0000"}', ["body", "name"]),
    (b'{"name\\u0000": 1}', ["body"]),
    (b'{"items": [1, {"n": 9223372036854775808}]}', ["body", "items", 1, "n"]),
    (b'{"n": NaN}', ["body"]),
    (b'[' * 9 + b']' * 9, None),
    (b'[' * 2000 + b']' * 2000, None),  # past Python's recursion limit
])
async def test_hostile_json_is_422_naming_where_never_the_value(client: httpx.AsyncClient, body: bytes,
                                                                where: list | None) -> None:
    response = await client.post("/echo", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    if where is not None:
        assert error["loc"] == where
    assert "Lina" not in response.text and "9223372036854775808" not in response.text


@pytest.mark.parametrize("path", ["/search?q=a%00b", "/things/%00/versions/1", "/search?q=a+%00"])
async def test_a_nul_in_path_or_query_is_422(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "string_nul"


async def test_a_malformed_id_or_an_integer_past_its_column_is_422_without_echoing_it(
        client: httpx.AsyncClient) -> None:
    thing = "00000000-0000-4000-8000-000000000001"
    assert (await client.get(f"/things/{thing}/versions/7")).json() == {"thing_id": thing, "version": 7}
    not_uuid = await client.get("/things/V-123456/versions/1")
    too_big = await client.get(f"/things/{thing}/versions/2147483648")
    assert not_uuid.status_code == 422 and "V-123456" not in not_uuid.text
    assert too_big.status_code == 422 and "2147483648" not in too_big.text


async def test_a_value_the_database_cannot_store_is_422_and_its_text_stays_out_of_the_log(
        client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        response = await client.post("/store", json={"n": 4_294_967_296})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["type"] == "value_not_storable"
    assert "4294967296" not in response.text and "4294967296" not in caplog.text
