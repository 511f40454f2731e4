"""Services accept only identities the gateway signed, and only for the roles a route allows."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from fastapi import APIRouter, Depends, FastAPI

from verbinding_common.auth import (
    IDENTITY_HEADER,
    CurrentIdentity,
    Identity,
    IdentitySigner,
    IdentityVerifier,
    InvalidIdentity,
    Role,
    allow,
    generate_signing_key,
    routes_without_allow_list,
)
from verbinding_common.health import router as health_router
from verbinding_testing.fixtures import identity_headers

AUDIENCE = "caseload-service"


def make_app(public_pem: str) -> FastAPI:
    app = FastAPI()
    app.state.identity_verifier = IdentityVerifier(public_pem, audience=AUDIENCE)
    app.include_router(health_router)

    @app.get("/caseload", dependencies=[Depends(allow(Role.case_manager, Role.team_lead))])
    async def caseload(identity: CurrentIdentity) -> dict[str, str]:
        return {"subject": identity.subject}

    return app


async def call(app: FastAPI, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        return await client.get("/caseload", headers=headers or {})


async def test_allowed_role_gets_through_and_sees_its_identity(identity_keys, identity_signer) -> None:
    response = await call(make_app(identity_keys[1]), identity_headers(identity_signer, "case_manager", subject="cm-1",
                                                                audience=AUDIENCE))
    assert response.status_code == 200
    assert response.json() == {"subject": "cm-1"}


async def test_other_role_is_forbidden_and_missing_identity_unauthorised(identity_keys, identity_signer) -> None:
    app = make_app(identity_keys[1])
    forbidden = await call(app, identity_headers(identity_signer, "ngo_partner", audience=AUDIENCE))
    assert forbidden.status_code == 403
    assert forbidden.json() == {"detail": "not allowed"}, "the allow-list is not told"
    missing = await call(app)
    assert missing.status_code == 401 and missing.json() == {"detail": "not authenticated"}


async def test_forged_and_expired_identities_are_refused(identity_keys) -> None:
    app = make_app(identity_keys[1])
    forger = IdentitySigner(generate_signing_key()[0])
    identity = Identity(subject="x", kind="user", roles=[Role.case_manager])
    assert (await call(app, forger.headers(identity, audience=AUDIENCE))).status_code == 401
    expired = IdentitySigner(identity_keys[0], ttl_seconds=-10)
    refused = await call(app, expired.headers(identity, audience=AUDIENCE))
    assert refused.status_code == 401
    assert refused.json() == {"detail": "not authenticated"}, "the verifier's reason is not echoed"
    unsigned = jwt.encode({"sub": "x", "roles": ["case_manager"], "exp": int(time.time()) + 60}, key="",
                          algorithm="none")
    assert (await call(app, {IDENTITY_HEADER: unsigned})).status_code == 401


def test_route_audit_names_routes_without_an_allow_list(identity_keys) -> None:
    app = make_app(identity_keys[1])
    assert routes_without_allow_list(app) == []

    @app.get("/leaky")
    async def leaky() -> None:
        return None

    assert routes_without_allow_list(app) == ["['GET'] /leaky"]


def test_route_audit_sees_into_included_routers_and_their_dependencies(identity_keys) -> None:
    guarded = APIRouter(dependencies=[Depends(allow(Role.team_lead))])
    unguarded = APIRouter()

    @guarded.get("/waitlist")
    async def waitlist() -> None:
        return None

    @unguarded.get("/persons/{person_id}")
    async def person(person_id: str) -> None:
        return None

    app = make_app(identity_keys[1])
    app.include_router(guarded)
    app.include_router(unguarded, prefix="/v1")
    assert routes_without_allow_list(app) == ["['GET'] /v1/persons/{person_id}"]


async def test_an_identity_vouched_for_another_service_is_refused_with_a_generic_body(identity_keys,
                                                                                      identity_signer) -> None:
    app = make_app(identity_keys[1])
    for_intake = identity_headers(identity_signer, "case_manager", audience="intake")
    refused = await call(app, for_intake)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "not authenticated"}
    assert (await call(app, identity_headers(identity_signer, "case_manager", audience=AUDIENCE))).status_code == 200


async def test_the_team_travels_in_the_vouched_identity(identity_keys, identity_signer) -> None:
    verifier = IdentityVerifier(identity_keys[1], audience=AUDIENCE)
    token = identity_signer.sign(Identity(subject="tl-1", kind="user", roles=[Role.team_lead], team="west"),
                                 audience=AUDIENCE)
    assert verifier.verify(token).team == "west"


def test_the_signer_reuses_a_callers_token_for_a_service_while_it_is_young(identity_keys, monkeypatch) -> None:
    signer = IdentitySigner(identity_keys[0], ttl_seconds=60)
    carla = Identity(subject="tl-1", kind="user", roles=[Role.team_lead], team="west")
    first = signer.headers(carla, audience=AUDIENCE)[IDENTITY_HEADER]
    assert signer.headers(carla, audience=AUDIENCE)[IDENTITY_HEADER] == first, "reused within half its life"
    assert signer.headers(carla, audience="intake")[IDENTITY_HEADER] != first, "each service its own audience"
    other_team = carla.model_copy(update={"team": "oost"})
    assert signer.headers(other_team, audience=AUDIENCE)[IDENTITY_HEADER] != first, "each caller its own token"
    later = time.time() + 31
    monkeypatch.setattr("verbinding_common.auth.time.time", lambda: later)
    assert signer.headers(carla, audience=AUDIENCE)[IDENTITY_HEADER] != first, "past half its life a new one"


def test_the_verifier_remembers_a_verified_token_until_it_expires_and_nothing_else(identity_keys, identity_signer,
                                                                                  monkeypatch) -> None:
    verifier = IdentityVerifier(identity_keys[1], audience=AUDIENCE)
    token = identity_signer.sign(Identity(subject="cm-1", kind="user", roles=[Role.case_manager]), audience=AUDIENCE)
    assert verifier.verify(token).subject == "cm-1"
    checked = []

    def refusing_decode(*args: object, **kwargs: object) -> None:
        checked.append(args)
        raise jwt.InvalidSignatureError("checked")

    monkeypatch.setattr("verbinding_common.auth.jwt.decode", refusing_decode)
    assert verifier.verify(token).subject == "cm-1" and checked == [], "the second time from memory"
    header, payload, signature = token.split(".")
    with pytest.raises(InvalidIdentity):
        # Its first character changed, so it always differs (a signature that already ended in "AA" once did not).
        verifier.verify(f"{header}.{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}")
    assert len(checked) == 1, "another token, however alike, is checked"
    expired = time.time() + 3600
    monkeypatch.setattr("verbinding_common.auth.time.time", lambda: expired)
    with pytest.raises(InvalidIdentity):
        verifier.verify(token)
    assert len(checked) == 2, "past its expiry the token is checked again"
