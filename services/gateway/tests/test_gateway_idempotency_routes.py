"""Idempotency-Key through the gateway: every forwarding style sends the client's key to the service that owns the
record, and a retried write is answered from that service's store instead of writing again.

The services behind are stand-ins served over real HTTP that use the library's real mechanism (IdempotentRoute,
SessionDep) on a real database; the gateway is the real app.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, Body, Depends, FastAPI, status
from gateway.main import create_app
from gateway_support import bearer, serving
from sqlalchemy import text

from verbinding_common.auth import IdentityVerifier, Role, allow
from verbinding_common.db import SessionDep, create_engine, create_sessionmaker
from verbinding_common.errors import DomainError, domain_error_response
from verbinding_common.idempotency import HEADER, REPLAYED_HEADER, IdempotentRoute
from verbinding_testing.fixtures import running_app


def service_stand_in(database_url: str, public_identity_pem: str, *, audience: str, path: str) -> FastAPI:
    """A service with one keyed write at `path` that stores a row per write in table `write`."""
    app = FastAPI()
    app.state.identity_verifier = IdentityVerifier(public_identity_pem, audience=audience)
    app.state.sessionmaker = create_sessionmaker(create_engine(database_url))
    app.add_exception_handler(DomainError, domain_error_response)
    router = APIRouter(route_class=IdempotentRoute,
                       dependencies=[Depends(allow(Role.job_hunter, Role.team_lead, Role.reporter,
                                                   Role.case_manager))])

    async def write(session: SessionDep, body: dict = Body()) -> dict:
        written = await session.scalar(text("INSERT INTO write (service, body) VALUES (:service, :body) RETURNING id"),
                                       {"service": audience, "body": str(body)})
        return {"id": written, "drawn": uuid.uuid4().hex}

    router.add_api_route(path, write, methods=["POST", "PUT"], status_code=status.HTTP_201_CREATED)
    app.include_router(router)
    return app


@pytest.fixture
async def services(database_url: str, identity_keys: tuple[str, str]) -> AsyncIterator[dict[str, str]]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE write (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                                "service text, body text)"))
    await engine.dispose()
    public = identity_keys[1]
    employment = service_stand_in(database_url, public, audience="employment", path="/employers")
    intake = service_stand_in(database_url, public, audience="intake", path="/persons/{person_id}/interview")
    safe_reporting = service_stand_in(database_url, public, audience="safe-reporting", path="/reports")
    async with serving(employment) as employment_url, serving(intake) as intake_url, \
            serving(safe_reporting) as safe_reporting_url:
        yield {"employment_url": employment_url, "intake_url": intake_url, "safe_reporting_url": safe_reporting_url}
    for stand_in in (employment, intake, safe_reporting):
        await stand_in.state.sessionmaker.kw["bind"].dispose()


INTERVIEW = {"education_level": 3, "years_of_work_experience": 4, "dutch_level": "A2", "domains_of_need": ["work"]}
WRITES = {
    "mounted (employer)": ("POST", "/api/v1/employment/employers", {"name": "Bakkerij", "sector": "care"},
                           Role.team_lead),
    "mounted (interview)": ("PUT", f"/api/v1/intake/persons/{uuid.uuid4()}/interview", INTERVIEW, Role.case_manager),
    "mounted, anonymous (report)": ("POST", "/api/v1/safe-reporting/reports", {"category": "theft"}, None),
}


async def writes(database_url: str) -> int:
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        count = await conn.scalar(text("SELECT count(*) FROM write"))
    await engine.dispose()
    return count


@pytest.mark.parametrize("style", list(WRITES))
async def test_a_write_retried_through_the_gateway_with_its_key_is_answered_once(
        make_settings, services, database_url: str, style: str) -> None:
    method, path, body, role = WRITES[style]
    app = create_app(make_settings(**services))
    key = str(uuid.uuid4())
    async with running_app(app) as client:
        headers = (bearer(app, role, subject="someone") if role else {}) | {HEADER: key}
        first = await client.request(method, path, json=body, headers=headers)
        again = await client.request(method, path, json=body, headers=headers)
        fresh = await client.request(method, path, json=body, headers=headers | {HEADER: str(uuid.uuid4())})
    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()) == (201, first.json())
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    assert await writes(database_url) == 2


async def test_the_replay_marker_reaches_the_client(make_settings, services) -> None:
    app = create_app(make_settings(**services))
    headers = bearer(app, Role.team_lead) | {HEADER: str(uuid.uuid4())}
    async with running_app(app) as client:
        await client.post("/api/v1/employment/employers", json={"name": "Bakkerij", "sector": "care"}, headers=headers)
        again = await client.post("/api/v1/employment/employers", json={"name": "Bakkerij", "sector": "care"},
                                  headers=headers)
    assert again.headers[REPLAYED_HEADER] == "true"


async def test_the_same_key_with_another_body_through_the_gateway_is_422(make_settings, services) -> None:
    app = create_app(make_settings(**services))
    headers = bearer(app, Role.team_lead) | {HEADER: str(uuid.uuid4())}
    async with running_app(app) as client:
        await client.post("/api/v1/employment/employers", json={"name": "Bakkerij", "sector": "care"}, headers=headers)
        other = await client.post("/api/v1/employment/employers", json={"name": "Slagerij", "sector": "care"},
                                  headers=headers)
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]


async def test_a_malformed_key_is_refused_at_the_gateway(make_settings, services, database_url: str) -> None:
    app = create_app(make_settings(**services))
    async with running_app(app) as client:
        answer = await client.post("/api/v1/employment/employers", json={"name": "Bakkerij", "sector": "care"},
                                   headers=bearer(app, Role.team_lead) | {HEADER: "too-short"})
    assert answer.status_code == 400
    assert await writes(database_url) == 0


async def test_the_coa_push_keeps_its_answer_under_the_key(make_settings, gateway_database_url: str) -> None:
    app = create_app(make_settings())
    recognition = {"coa_registration_number": f"V-{uuid.uuid4().hex[:10]}", "recognised_on": "2025-03-01",
                   "family_name": "Haddad", "given_names": "Lina", "date_of_birth": "1990-05-01", "gender": "female",
                   "country_of_origin": "SY", "languages": ["ar", "en"], "reception_centre": "AZC Amsterdam-Zuid"}
    headers = bearer(app, Role.coa_integration, kind="client", subject="coa") | {HEADER: str(uuid.uuid4())}
    async with running_app(app) as client:
        first = await client.post("/api/v1/coa/status-recognitions", json=recognition, headers=headers)
        again = await client.post("/api/v1/coa/status-recognitions", json=recognition, headers=headers)
    assert first.status_code == 202, first.text
    assert (again.status_code, again.json(), again.headers[REPLAYED_HEADER]) == (202, first.json(), "true")
    engine = create_engine(gateway_database_url)
    async with engine.connect() as conn:
        deliveries = await conn.scalar(text("SELECT deliveries FROM coa_receipt"))
        keys = await conn.scalar(text("SELECT count(*) FROM idempotency_key"))
    await engine.dispose()
    assert (deliveries, keys) == (1, 1)
