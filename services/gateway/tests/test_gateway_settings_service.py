"""Gateway settings: demo credentials only in development, real secrets and keys elsewhere, an external issuer."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from gateway.access.tokens import InvalidToken, build_token_authority
from gateway.main import create_app
from gateway.settings import GatewaySettings
from gateway_support import gateway_settings, serving
from pydantic import ValidationError

from verbinding_common.auth import Identity, Role, generate_signing_key
from verbinding_common.credentials import hash_secret, verify_secret
from verbinding_testing.fixtures import running_app


def settings(**values: object) -> GatewaySettings:
    return GatewaySettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_development_has_the_demo_clients_and_users_and_other_environments_none() -> None:
    development = settings(environment="development")
    assert {client.client_id: client.roles for client in development.clients} == {
        "coa": [Role.coa_integration], "ngo-hvo-querido": [Role.ngo_partner]}
    assert next(c for c in development.clients if c.client_id == "ngo-hvo-querido").organisation == "HVO-Querido"
    assert {user.username: user.roles for user in development.demo_users} == {
        "cm-anna": [Role.case_manager], "cm-bram": [Role.case_manager], "jh-eva": [Role.job_hunter],
        "tl-carla": [Role.team_lead], "tl-dirk": [Role.team_lead], "ops-dave": [Role.ops],
        "pc-pieter": [Role.programme_coordinator], "hc-hana": [Role.hub_counsellor]}
    assert {user.username: user.team for user in development.demo_users if Role.team_lead in user.roles} == {
        "tl-carla": "west", "tl-dirk": "oost"}
    assert next(u for u in development.demo_users if u.username == "pc-pieter").organisation == "lvv"
    assert settings(environment="test").clients == [] and settings(environment="test").demo_users == []


def test_outside_development_a_demo_credential_or_a_configured_demo_user_refuses_to_start(monkeypatch) -> None:
    user = {"username": "cm-anna", "password_hash": hash_secret("a-long-password", iterations=1_000),
            "roles": ["case_manager"]}
    with pytest.raises(ValidationError, match=r"demo users .* not to test"):
        settings(environment="test", demo_users=[user])
    demo_client = {"client_id": "coa", "secret_hash": hash_secret("coa-demo-secret", iterations=1_000),
                   "roles": ["coa_integration"]}
    with pytest.raises(ValidationError, match="placeholder or demo secret"):
        settings(environment="test", clients=[demo_client])
    # The app itself refuses to be built: nothing starts with a demo credential outside development.
    monkeypatch.setenv("VERBINDING_ENVIRONMENT", "test")
    monkeypatch.setenv("VERBINDING_DEMO_USERS", json.dumps([user]))
    with pytest.raises(ValidationError, match="demo users"):
        create_app(GatewaySettings())


def test_the_environment_must_be_said_it_has_no_default(monkeypatch) -> None:
    monkeypatch.delenv("VERBINDING_ENVIRONMENT", raising=False)
    with pytest.raises(ValidationError, match="environment"):
        settings()


def test_production_refuses_placeholder_keys_demo_secrets_and_demo_users(tmp_path) -> None:
    key_file = tmp_path / "identity.key"
    key_file.write_text(generate_signing_key()[0])
    real = {"environment": "production", "identity_signing_key_file": key_file,
            "token_signing_key": generate_signing_key()[0]}
    assert settings(**real).clients == []
    with pytest.raises(ValidationError, match="identity_signing_key holds a placeholder"):
        settings(**{**real, "identity_signing_key_file": None, "identity_signing_key": "changeme"})
    with pytest.raises(ValidationError, match="token_signing_key holds a placeholder"):
        settings(**{**real, "token_signing_key": None})
    for secret in ("changeme", "coa-demo-secret"):
        client = {"client_id": "coa", "secret_hash": hash_secret(secret, iterations=1_000),
                  "roles": ["coa_integration"]}
        with pytest.raises(ValidationError, match="placeholder or demo secret"):
            settings(**real, clients=[client])
    user = {"username": "cm-anna", "password_hash": hash_secret("x", iterations=1_000), "roles": ["case_manager"]}
    with pytest.raises(ValidationError, match="demo users"):
        settings(**real, demo_users=[user])
    with pytest.raises(ValidationError, match="never the secret itself"):
        settings(**real, clients=[{"client_id": "coa", "secret_hash": "plain", "roles": ["coa_integration"]}])


def test_clients_come_from_a_json_list_in_the_environment(monkeypatch) -> None:
    clients = [{"client_id": "vwn", "secret_hash": hash_secret("a-long-real-secret", iterations=1_000),
                "roles": ["ngo_partner"], "organisation": "VluchtelingenWerk"}]
    monkeypatch.setenv("VERBINDING_CLIENTS", json.dumps(clients))
    monkeypatch.setenv("VERBINDING_ENVIRONMENT", "test")
    [client] = GatewaySettings().clients
    assert client.organisation == "VluchtelingenWerk"
    assert verify_secret("a-long-real-secret", client.secret_hash) and not verify_secret("wrong", client.secret_hash)


async def test_with_an_external_issuer_tokens_are_checked_against_its_jwks_and_the_token_endpoint_is_gone(
        make_settings) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    identity_provider = FastAPI()  # stands in for the external OIDC issuer: it only publishes its JWKS
    identity_provider.get("/jwks")(lambda: {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    now = int(time.time())
    claims = {"iss": "https://login.example.org", "aud": "verbinding", "sub": "u-42", "iat": now, "exp": now + 60,
              "roles": ["team_lead", "offline_access"]}
    token = jwt.encode(claims, pem, algorithm="RS256", headers={"kid": "k1"})
    foreign = jwt.encode({**claims, "iss": "https://elsewhere.example.org"}, pem, algorithm="RS256",
                         headers={"kid": "k1"})
    async with serving(identity_provider) as issuer_url:
        app = create_app(make_settings(oidc_issuer="https://login.example.org", oidc_audience="verbinding",
                                       oidc_jwks_url=f"{issuer_url}/jwks"))
        async with running_app(app) as client:
            assert (await client.post("/oauth/token", data={"grant_type": "password"})).status_code == 404
            assert (await client.get("/.well-known/jwks.json")).status_code == 404
            waitlist = await client.get("/api/v1/case-plan/waitlist", headers={"Authorization": f"Bearer {token}"})
            caseload = await client.get("/api/v1/case-plan/caseload", headers={"Authorization": f"Bearer {token}"})
            refused = await client.get("/api/v1/case-plan/waitlist", headers={"Authorization": f"Bearer {foreign}"})
    assert waitlist.status_code == 503  # through the allow-list; case-plan is not running here
    assert caseload.status_code == 403
    assert refused.status_code == 401


async def test_the_built_in_verifier_refuses_tokens_of_another_gateway_process() -> None:
    values = gateway_settings(database_url="postgresql+asyncpg://x@127.0.0.1:1/x", bootstrap_servers="127.0.0.1:1",
                              private_identity_pem=generate_signing_key()[0])
    issuer, _ = build_token_authority(values)
    _, other_verifier = build_token_authority(values)  # no key configured: a key of its own per process
    assert issuer is not None
    token = issuer.issue(Identity(subject="x", kind="user", roles=[Role.ops]))
    with pytest.raises(InvalidToken):
        await other_verifier.verify(token)
