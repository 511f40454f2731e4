"""Idempotency-Key on a real PostgreSQL: replay, reuse with another request, a duplicate in flight, expiry, secrecy."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from verbinding_common.app import ServiceRuntime
from verbinding_common.auth import IdentityVerifier, Role, allow
from verbinding_common.db import SessionDep, create_engine, create_sessionmaker, idempotency_key_table
from verbinding_common.errors import Conflict, DomainError, ErrorResponses, domain_error_response
from verbinding_common.idempotency import (
    HEADER,
    REPLAYED_HEADER,
    IdempotentRoute,
    _lock_id,
    lookup_of,
    purge_expired,
)
from verbinding_testing.fixtures import eventually, identity_headers, test_settings

AUDIENCE = "example"
SECRET_NAME = "Wilhelmina Zonderland"  # stands for personal data in a body


class ThingCreate(BaseModel):
    name: str
    refuse: bool = False


router = APIRouter(route_class=IdempotentRoute, dependencies=[Depends(allow(Role.case_manager, Role.reporter))])


@router.post("/things", status_code=status.HTTP_201_CREATED)
async def create_thing(body: ThingCreate, session: SessionDep) -> JSONResponse:
    if body.refuse:
        raise Conflict("refused on purpose")
    thing_id = await session.scalar(text("INSERT INTO thing (name) VALUES (:name) RETURNING id"), {"name": body.name})
    return JSONResponse({"id": thing_id, "name": body.name, "drawn": uuid.uuid4().hex}, status_code=201,
                        headers={"Location": f"/things/{thing_id}"})


@router.put("/things/{thing_id}/name", responses={409: {"description": "the thing is archived"}})
async def rename_thing(thing_id: int, body: ThingCreate, session: SessionDep) -> dict:
    await session.execute(text("UPDATE thing SET name = :name WHERE id = :id"), {"name": body.name, "id": thing_id})
    return {"id": thing_id, "name": body.name}


@router.get("/things")
async def count_things(session: SessionDep) -> dict[str, int]:
    return {"count": await session.scalar(text("SELECT count(*) FROM thing"))}


@dataclass
class Harness:
    client: httpx.AsyncClient
    engine: AsyncEngine
    signer: object

    def headers(self, key: str | None = None, *, subject: str = "cm-anna", role: str = Role.case_manager) -> dict:
        headers = identity_headers(self.signer, role, audience=AUDIENCE, subject=subject)
        return headers | ({HEADER: key} if key else {})

    async def things(self) -> int:
        async with self.engine.connect() as conn:
            return await conn.scalar(text("SELECT count(*) FROM thing"))

    async def keys(self) -> list:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(idempotency_key_table))).all()


@pytest.fixture
async def harness(database_url: str, identity_keys: tuple[str, str], identity_signer) -> AsyncIterator[Harness]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE thing (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text)"))
    app = FastAPI()
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.identity_verifier = IdentityVerifier(identity_keys[1], audience=AUDIENCE)
    app.add_exception_handler(DomainError, domain_error_response)
    app.add_middleware(ErrorResponses)
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        yield Harness(client=client, engine=engine, signer=identity_signer)
    await engine.dispose()


def new_key() -> str:
    return str(uuid.uuid4())


async def test_a_retry_with_the_same_key_gets_the_first_answer_and_writes_nothing_twice(harness: Harness) -> None:
    key = new_key()
    first = await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers(key))
    again = await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers(key))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers[REPLAYED_HEADER] == "true"
    assert REPLAYED_HEADER.lower() not in first.headers
    assert await harness.things() == 1
    assert len(await harness.keys()) == 1


async def test_the_same_key_with_another_body_is_refused_with_422(harness: Harness) -> None:
    key = new_key()
    assert (await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers(key))).status_code == 201
    other = await harness.client.post("/things", json={"name": "cot"}, headers=harness.headers(key))
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "different request" in other.json()["detail"]
    assert await harness.things() == 1


async def test_the_same_key_for_another_record_is_refused_with_422(harness: Harness) -> None:
    key = new_key()
    first = await harness.client.put("/things/1/name", json={"name": "bed"}, headers=harness.headers(key))
    other = await harness.client.put("/things/2/name", json={"name": "bed"}, headers=harness.headers(key))
    assert (first.status_code, other.status_code) == (200, 422)


async def test_a_duplicate_while_the_first_is_in_progress_gets_409_with_retry_after(harness: Harness) -> None:
    key = new_key()
    # The first request "in progress" is a transaction holding the key's lock: deterministic, no sleeping.
    async with harness.engine.connect() as holder:
        await holder.execute(select(func.pg_advisory_lock(_lock_id(lookup_of("user:cm-anna", key)))))
        busy = await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers(key))
        assert busy.status_code == 409
        assert busy.headers["retry-after"] == "1"
        assert "still in progress" in busy.json()["detail"]
        await holder.execute(select(func.pg_advisory_unlock_all()))
    assert await harness.things() == 0
    done = await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers(key))
    assert done.status_code == 201


async def test_concurrent_duplicates_write_once(harness: Harness) -> None:
    key = new_key()
    answers = await asyncio.gather(*(harness.client.post("/things", json={"name": "bed"}, headers=harness.headers(key))
                                     for _ in range(8)))
    assert {answer.status_code for answer in answers} <= {201, 409}
    assert await harness.things() == 1
    assert len({answer.json()["id"] for answer in answers if answer.status_code == 201}) == 1


async def test_every_service_purges_expired_keys_in_the_background(harness: Harness, database_url: str) -> None:
    await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers(new_key()))
    async with harness.engine.begin() as conn:
        await conn.execute(update(idempotency_key_table).values(expires_at=func.now()))
    settings = test_settings(database_url=database_url, bootstrap_servers="127.0.0.1:9",
                             idempotency_purge_interval_s=0.05)
    runtime = ServiceRuntime(settings=settings, engine=harness.engine,
                             sessionmaker=create_sessionmaker(harness.engine), consumers=[])
    runtime.start_jobs(state=None)
    try:
        await eventually(lambda: _no_keys(harness), timeout=10, what="the expired key purged")
    finally:
        await runtime.stop_jobs()
    assert runtime.jobs.statuses["idempotency-key-purge"].last_success_at is not None


async def _no_keys(harness: Harness) -> bool:
    return await harness.keys() == []


async def test_an_expired_key_is_purged_and_then_works_afresh(harness: Harness) -> None:
    key = new_key()
    first = await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers(key))
    async with harness.engine.begin() as conn:
        await conn.execute(update(idempotency_key_table).values(expires_at=func.now() - text("interval '1 hour'")))
    assert await purge_expired(harness.engine, batch_size=1) == 1
    assert await harness.keys() == []
    fresh = await harness.client.post("/things", json={"name": "cot"}, headers=harness.headers(key))
    assert fresh.status_code == 201
    assert REPLAYED_HEADER.lower() not in fresh.headers
    assert fresh.json()["id"] != first.json()["id"]


async def test_an_expired_key_not_yet_purged_works_afresh(harness: Harness) -> None:
    key = new_key()
    await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers(key))
    async with harness.engine.begin() as conn:
        await conn.execute(update(idempotency_key_table).values(expires_at=func.now()))
    again = await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers(key))
    assert again.status_code == 201 and REPLAYED_HEADER.lower() not in again.headers
    assert await harness.things() == 2
    assert len(await harness.keys()) == 1


async def test_without_a_key_every_request_writes_as_before(harness: Harness) -> None:
    for _ in range(2):
        answer = await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers())
        assert answer.status_code == 201 and REPLAYED_HEADER.lower() not in answer.headers
    assert await harness.things() == 2
    assert await harness.keys() == []


async def test_the_table_holds_neither_the_key_nor_the_answer_in_readable_form(harness: Harness) -> None:
    key = f"client-key-{uuid.uuid4().hex}"
    answer = await harness.client.post("/things", json={"name": SECRET_NAME}, headers=harness.headers(key))
    assert answer.status_code == 201
    async with harness.engine.connect() as conn:
        dump = (await conn.scalar(text("SELECT string_agg(t::text, '|') FROM idempotency_key t"))).encode()
        raw = b"".join(bytes(value) for row in (await conn.execute(
            text("SELECT lookup, fingerprint, body, nonce FROM idempotency_key"))).all() for value in row)
    for secret in (key.encode(), SECRET_NAME.encode(), answer.json()["drawn"].encode()):
        assert secret not in dump and secret not in raw
        assert secret.hex().encode() not in dump


async def test_a_refused_request_is_not_kept_and_runs_again(harness: Harness) -> None:
    key = new_key()
    refused = await harness.client.post("/things", json={"name": "bed", "refuse": True}, headers=harness.headers(key))
    assert refused.status_code == 409
    assert await harness.keys() == []
    again = await harness.client.post("/things", json={"name": "bed", "refuse": True}, headers=harness.headers(key))
    assert again.status_code == 409 and REPLAYED_HEADER.lower() not in again.headers


async def test_keys_are_scoped_per_caller(harness: Harness) -> None:
    key = new_key()
    anna = await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers(key))
    bram = await harness.client.post("/things", json={"name": "cot"}, headers=harness.headers(key, subject="cm-bram"))
    assert anna.status_code == bram.status_code == 201
    assert REPLAYED_HEADER.lower() not in bram.headers
    assert await harness.things() == 2


async def test_anonymous_reporters_share_one_scope_whatever_their_subject(harness: Harness) -> None:
    key = new_key()
    first = await harness.client.post("/things", json={"name": "bed"},
                                      headers=harness.headers(key, subject="reporter-1", role=Role.reporter))
    second = await harness.client.post("/things", json={"name": "bed"},
                                       headers=harness.headers(key, subject="reporter-2", role=Role.reporter))
    assert second.json() == first.json() and second.headers[REPLAYED_HEADER] == "true"


@pytest.mark.parametrize("key", [b"short", b"x" * 256, b"sixteen chars ok", "caf\u00e9-caf\u00e9-caf\u00e9".encode()])
async def test_a_key_outside_the_format_is_refused_with_400(harness: Harness, key: bytes) -> None:
    answer = await harness.client.post("/things", json={"name": "bed"}, headers=harness.headers() | {HEADER: key})
    assert answer.status_code == 400
    assert "16 to 255 visible ASCII" in answer.json()["detail"]
    assert await harness.things() == 0


async def test_a_key_on_a_read_is_ignored(harness: Harness) -> None:
    answer = await harness.client.get("/things", headers=harness.headers("short"))
    assert answer.status_code == 200 and REPLAYED_HEADER.lower() not in answer.headers


def test_the_openapi_document_names_the_header_and_its_answers() -> None:
    app = FastAPI()
    app.include_router(router)
    operation = app.openapi()["paths"]["/things"]["post"]
    header = next(parameter for parameter in operation["parameters"] if parameter["name"] == HEADER)
    assert header["in"] == "header" and not header.get("required")
    assert {"400", "409", "422"} <= set(operation["responses"])
    assert REPLAYED_HEADER in operation["responses"]["201"]["headers"]
    renamed = app.openapi()["paths"]["/things/{thing_id}/name"]["put"]["responses"]["409"]["description"]
    assert "archived" in renamed and "still in progress" in renamed
    read = app.openapi()["paths"]["/things"]["get"]
    assert HEADER not in [parameter["name"] for parameter in read.get("parameters", [])]
