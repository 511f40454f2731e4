"""Helpers for the gateway tests: test credentials, settings, tokens, and HTTP neighbours on real ports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse
from gateway.settings import ClientConfig, DemoUserConfig, GatewaySettings

from verbinding_common.auth import CurrentIdentity, Identity, IdentityVerifier, Role, allow
from verbinding_common.credentials import hash_secret
from verbinding_devstack.infra.ports import free_port
from verbinding_testing.fixtures import unique_topic
from verbinding_testing.serving import serving  # noqa: F401 (the gateway tests import it from here)

SERVICE_DIR = Path(__file__).resolve().parents[1]
ALEMBIC_INI = SERVICE_DIR / "alembic.ini"
COA_SECRET = "coa-test-secret-7f3a"
NGO_SECRET = "ngo-test-secret-91bc"
USER_PASSWORD = "user-test-password-5d2e"


def _fast_hash(secret: str) -> str:
    return hash_secret(secret, iterations=1_000)


TEST_CLIENTS = [
    ClientConfig(client_id="coa", secret_hash=_fast_hash(COA_SECRET), roles=[Role.coa_integration]),
    ClientConfig(client_id="ngo-hvo-querido", secret_hash=_fast_hash(NGO_SECRET), roles=[Role.ngo_partner],
                 organisation="HVO-Querido"),
]
TEST_USERS = [
    DemoUserConfig(username="cm-anna", password_hash=_fast_hash(USER_PASSWORD), roles=[Role.case_manager]),
    DemoUserConfig(username="tl-carla", password_hash=_fast_hash(USER_PASSWORD), roles=[Role.team_lead],
                   team="west"),
]


def closed_port_url() -> str:
    """A URL nothing listens on: connections are refused at once."""
    return f"http://127.0.0.1:{free_port()}"


def gateway_settings(*, database_url: str, bootstrap_servers: str, private_identity_pem: str,
                     **overrides: object) -> GatewaySettings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap_servers,
        "kafka_request_timeout_ms": 3_000,
        "kafka_session_timeout_ms": 4_000,
        "kafka_heartbeat_interval_ms": 1_000,
        "relay_poll_interval_s": 0.05,
        "shutdown_drain_s": 1.0,
        "identity_signing_key": private_identity_pem,
        "clients": TEST_CLIENTS,
        "coa_topic": unique_topic("coa-status-recognitions"),
        "intake_url": closed_port_url(),
        "case_plan_url": closed_port_url(),
        "employment_url": closed_port_url(),
        # Generous: a busy machine (tests run in parallel) must not turn a slow answer into a 503. The tests of
        # timeouts set their own.
        "downstream_timeout_s": 15.0,
        "overview_timeout_s": 10.0,
    }
    values.update(overrides)
    return GatewaySettings(**values)  # type: ignore[arg-type]


def bearer(app: FastAPI, *roles: Role | str, subject: str = "tester", organisation: str | None = None,
           kind: str = "user", team: str | None = None) -> dict[str, str]:
    """Authorization headers with a token the app's own issuer signed."""
    identity = Identity(subject=subject, kind=kind, roles=[Role(role) for role in roles],  # type: ignore[arg-type]
                        organisation=organisation, team=team)
    return {"Authorization": f"Bearer {app.state.token_issuer.issue(identity)}"}


def intake_stand_in(public_identity_pem: str, *, persons: dict[str, dict], recognitions: dict[str, dict]) -> FastAPI:
    """A stand-in for intake's internal API (the real app is not in the tree yet): it checks the identity header
    exactly as every service does (verbinding_common.auth.allow) and records who called."""
    app = FastAPI()
    app.state.identity_verifier = IdentityVerifier(public_identity_pem, audience="intake")
    app.state.callers = []

    def seen(identity: Identity) -> None:
        app.state.callers.append(identity)

    @app.get("/persons/{person_id}",
             dependencies=[Depends(allow(Role.case_manager, Role.team_lead, Role.job_hunter))])
    async def get_person(person_id: str, identity: CurrentIdentity) -> dict:
        seen(identity)
        if person_id not in persons:
            raise HTTPException(404, "no such person")
        return persons[person_id]

    @app.get("/recognitions/{number}/status",
             dependencies=[Depends(allow(Role.coa_integration, Role.team_lead, Role.case_manager))])
    async def recognition_status(number: str, identity: CurrentIdentity) -> dict:
        seen(identity)
        if number not in recognitions:
            raise HTTPException(404, "no such recognition")
        return recognitions[number]

    @app.put("/persons/{person_id}/interview", dependencies=[Depends(allow(Role.case_manager))])
    async def put_interview(person_id: str, interview: dict, identity: CurrentIdentity) -> dict:
        seen(identity)
        if person_id not in persons:
            raise HTTPException(404, "no such person")
        return {"person_id": person_id, **interview, "recorded_by": identity.subject}

    return app


def case_plan_stand_in(public_identity_pem: str, *, cases_by_person: dict[str, dict],
                       plans: dict[str, dict], slow_persons: frozenset[str] = frozenset()) -> FastAPI:
    """A stand-in for case-plan's internal API, checking identities like the real service."""
    app = FastAPI()
    app.state.identity_verifier = IdentityVerifier(public_identity_pem, audience="case-plan")
    app.state.callers = []

    @app.get("/persons/{person_id}/case",
             dependencies=[Depends(allow(Role.case_manager, Role.team_lead, Role.coa_integration))])
    async def person_case(person_id: str, identity: CurrentIdentity) -> dict:
        app.state.callers.append(identity)
        if person_id in slow_persons:
            await asyncio.sleep(30)
        if person_id not in cases_by_person:
            raise HTTPException(404, "no case for this person")
        return cases_by_person[person_id]

    @app.get("/cases/{case_id}/action-plan", dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
    async def action_plan(case_id: str) -> dict:
        if case_id not in plans:
            raise HTTPException(404, "no action plan yet")
        return plans[case_id]

    @app.get("/caseload", dependencies=[Depends(allow(Role.case_manager))])
    async def caseload(identity: CurrentIdentity) -> dict:
        return {"case_manager": identity.subject, "cases": list(cases_by_person.values())}

    @app.post("/cases/{case_id}/close", dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
    async def close(case_id: str, body: dict) -> JSONResponse:
        return JSONResponse({"detail": f"case {case_id} is already closed", "reason": body.get("reason")},
                            status_code=409)

    return app


@contextlib.asynccontextmanager
async def never_answering() -> AsyncIterator[str]:
    """A loopback server that accepts connections, takes the request and never says a word: a hung service."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        for writer in held:
            writer.close()
        server.close()
