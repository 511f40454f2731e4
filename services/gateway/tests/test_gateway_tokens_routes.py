"""The token endpoint (RFC 6749), the JWKS, and bearer tokens that are missing, expired, forged or foreign."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from gateway.access.tokens import TokenIssuer
from gateway.main import create_app
from gateway_support import COA_SECRET, NGO_SECRET, TEST_USERS, USER_PASSWORD, bearer

from verbinding_common.auth import Identity, IdentitySigner, Role, generate_signing_key
from verbinding_testing.fixtures import running_app

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def gateway(make_settings):
    # The password grant (demo users) exists in development only.
    app = create_app(make_settings(environment="development", demo_users=TEST_USERS))
    async with running_app(app) as client:
        yield app, client


def claims_of(app, token: str) -> dict:
    issuer: TokenIssuer = app.state.token_issuer
    return jwt.decode(token, issuer.public_key, algorithms=[issuer.algorithm], audience=issuer.audience)


async def test_client_credentials_grant_gives_a_signed_token_with_the_clients_roles(gateway) -> None:
    app, client = gateway
    response = await client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "coa",
                                                       "client_secret": COA_SECRET})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"
    claims = claims_of(app, body["access_token"])
    assert claims["sub"] == "coa" and claims["roles"] == ["coa_integration"] and claims["kind"] == "client"
    assert claims["iss"] == "verbinding-gateway" and claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "EdDSA"


async def test_ngo_token_names_its_organisation_and_http_basic_client_authentication_works(gateway) -> None:
    app, client = gateway
    basic = base64.b64encode(f"ngo-hvo-querido:{NGO_SECRET}".encode()).decode()
    response = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.text
    claims = claims_of(app, response.json()["access_token"])
    assert claims["roles"] == ["ngo_partner"] and claims["org"] == "HVO-Querido"


async def test_password_grant_gives_a_demo_user_a_token_that_opens_their_routes(gateway) -> None:
    app, client = gateway
    response = await client.post("/oauth/token", data={"grant_type": "password", "username": "tl-carla",
                                                       "password": USER_PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert claims_of(app, token)["roles"] == ["team_lead"]
    assert claims_of(app, token)["team"] == "west", "a team lead acts on their own team's cases only"
    # Allowed through the allow-list: the case-plan behind it is down, so 503, never 401/403.
    waitlist = await client.get("/api/v1/case-plan/waitlist", headers={"Authorization": f"Bearer {token}"})
    assert waitlist.status_code == 503
    assert waitlist.json()["detail"] == "case-plan unavailable"


async def test_wrong_or_missing_client_secret_is_401_invalid_client(gateway) -> None:
    _, client = gateway
    for form in ({"grant_type": "client_credentials", "client_id": "coa", "client_secret": "wrong"},
                 {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": COA_SECRET},
                 {"grant_type": "client_credentials", "client_id": "coa"}):
        response = await client.post("/oauth/token", data=form)
        assert response.status_code == 401, form
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")


async def test_wrong_user_password_is_400_invalid_grant_as_rfc_6749_says(gateway) -> None:
    _, client = gateway
    response = await client.post("/oauth/token", data={"grant_type": "password", "username": "cm-anna",
                                                       "password": "wrong"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_unsupported_or_missing_grant_and_non_form_bodies_are_400(gateway) -> None:
    _, client = gateway
    unsupported = await client.post("/oauth/token", data={"grant_type": "authorization_code", "code": "x"})
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    missing = await client.post("/oauth/token", data={"client_id": "coa"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    as_json = await client.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    twice = await client.post("/oauth/token", content="grant_type=password&grant_type=password", headers=FORM)
    assert twice.status_code == 400 and twice.json()["error"] == "invalid_request"


async def test_jwks_publishes_the_key_that_verifies_issued_tokens(gateway) -> None:
    app, client = gateway
    jwks = (await client.get("/.well-known/jwks.json")).json()
    token = app.state.token_issuer.issue(Identity(subject="cm-anna", kind="user", roles=[Role.case_manager]))
    [key] = jwks["keys"]
    assert key["kid"] == jwt.get_unverified_header(token)["kid"] and key["use"] == "sig"
    verified = jwt.decode(token, jwt.PyJWK(key).key, algorithms=[key["alg"]], audience="verbinding-api")
    assert verified["sub"] == "cm-anna"


async def test_missing_expired_forged_and_foreign_tokens_are_401_never_500(gateway, identity_keys) -> None:
    app, client = gateway
    issuer: TokenIssuer = app.state.token_issuer
    identity = Identity(subject="cm-anna", kind="user", roles=[Role.case_manager])
    now = int(time.time())
    private = generate_signing_key()[0]
    forger = TokenIssuer(private, issuer=issuer.issuer, audience=issuer.audience, ttl_seconds=3600)
    expired = TokenIssuer.__new__(TokenIssuer)
    expired.__dict__.update(issuer.__dict__, ttl_seconds=-30)
    wrong_audience = TokenIssuer.__new__(TokenIssuer)
    wrong_audience.__dict__.update(issuer.__dict__, audience="someone-else")
    unsigned = jwt.encode({"sub": "x", "roles": ["case_manager"], "iss": issuer.issuer, "aud": issuer.audience,
                           "iat": now, "exp": now + 60}, key="", algorithm="none")
    # The identity header services accept is not a bearer token for the gateway (other key, other audience).
    service_identity = IdentitySigner(identity_keys[0]).sign(identity, audience="intake")
    header = json.dumps({"alg": "EdDSA", "typ": "JWT"}).encode()
    garbage = base64.urlsafe_b64encode(header).decode().rstrip("=") + ".e30.c2ln"
    tokens = [forger.issue(identity), expired.issue(identity), wrong_audience.issue(identity), unsigned,
              service_identity, garbage, "not-a-jwt", ""]
    for token in tokens:
        response = await client.get("/api/v1/case-plan/caseload", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (token, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
    for headers in ({}, {"Authorization": "Basic Y29hOnNlY3JldA=="}):
        response = await client.get("/api/v1/case-plan/caseload", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="verbinding"'
    bad_roles = issuer.issue(identity).split(".")[0]  # a valid header with a payload that is not ours
    assert (await client.get("/api/v1/case-plan/caseload", headers={"Authorization": f"Bearer {bad_roles}.x.y"})
            ).status_code == 401
    assert (await client.get("/api/v1/case-plan/caseload", headers=bearer(app, Role.case_manager))).status_code == 503


async def test_repeated_failures_for_one_user_name_are_429_with_retry_after_even_with_the_right_password(
        make_settings) -> None:
    app = create_app(make_settings(environment="development", demo_users=TEST_USERS, token_failure_limit="3/minute"))
    async with running_app(app) as client:
        wrong = {"grant_type": "password", "username": "cm-anna", "password": "guess"}
        answers = [(await client.post("/oauth/token", data=wrong)).status_code for _ in range(4)]
        right = await client.post("/oauth/token", data={**wrong, "password": USER_PASSWORD})
        other_user = await client.post("/oauth/token", data={"grant_type": "password", "username": "tl-carla",
                                                              "password": USER_PASSWORD})
    assert answers == [400, 400, 400, 429]
    assert right.status_code == 429 and 1 <= int(right.headers["retry-after"]) <= 60
    assert right.json()["error"] == "too_many_requests" and "access_token" not in right.text
    assert other_user.status_code == 200, "another user name is not throttled by cm-anna's failures"


async def test_repeated_failures_for_one_client_are_429_with_retry_after(make_settings) -> None:
    app = create_app(make_settings(token_failure_limit="2/minute"))
    async with running_app(app) as client:
        wrong = {"grant_type": "client_credentials", "client_id": "coa", "client_secret": "guess"}
        answers = [(await client.post("/oauth/token", data=wrong)).status_code for _ in range(3)]
        right = await client.post("/oauth/token", data={**wrong, "client_secret": COA_SECRET})
        other = await client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                        "client_id": "ngo-hvo-querido", "client_secret": NGO_SECRET})
    assert answers == [401, 401, 429]
    assert right.status_code == 429 and int(right.headers["retry-after"]) >= 1
    assert other.status_code == 200


async def test_an_unknown_name_costs_the_same_hash_work_as_a_known_one(gateway, monkeypatch) -> None:
    from verbinding_common import credentials

    _, client = gateway
    work: list[int] = []
    derive = credentials.derive

    def counted(secret: str, salt: bytes, iterations: int) -> bytes:
        work.append(iterations)
        return derive(secret, salt, iterations)

    monkeypatch.setattr(credentials, "derive", counted)

    async def cost(form: dict) -> list[int]:
        work.clear()
        await client.post("/oauth/token", data=form)
        return list(work)

    known_user = await cost({"grant_type": "password", "username": "cm-anna", "password": "wrong"})
    unknown_user = await cost({"grant_type": "password", "username": "nobody-here", "password": "wrong"})
    known_client = await cost({"grant_type": "client_credentials", "client_id": "coa", "client_secret": "wrong"})
    unknown_client = await cost({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"})
    assert known_user == unknown_user and len(known_user) == 1
    assert known_client == unknown_client and len(known_client) == 1


def test_tokens_are_short_lived_by_default(make_settings) -> None:
    assert make_settings().token_ttl_s <= 900
