"""A bearer token is checked once, then found until it expires; nothing the check would refuse is ever found."""

from __future__ import annotations

import time

import jwt
import pytest
from gateway.access import tokens
from gateway.access.tokens import InvalidToken, TokenIssuer, TokenVerifier

from verbinding_common.auth import Identity, Role, generate_signing_key

KEY = generate_signing_key()[0]


@pytest.fixture
def authority() -> tuple[TokenIssuer, TokenVerifier]:
    issuer = TokenIssuer(KEY, issuer="verbinding", audience="api", ttl_seconds=900)
    return issuer, TokenVerifier(issuer=issuer.issuer, audience=issuer.audience, algorithms=[issuer.algorithm],
                                 key=issuer.public_key)


async def test_a_verified_token_is_found_again_until_it_expires(authority, monkeypatch) -> None:
    issuer, verifier = authority
    token = issuer.issue(Identity(subject="ngo-1", kind="client", roles=[Role.ngo_partner], organisation="HVO"))
    assert (await verifier.verify(token)).organisation == "HVO"
    checked = []

    def refusing_decode(*args: object, **kwargs: object) -> None:
        checked.append(args)
        raise jwt.InvalidSignatureError("checked")

    monkeypatch.setattr(tokens.jwt, "decode", refusing_decode)
    assert (await verifier.verify(token)).organisation == "HVO" and checked == [], "the second time from memory"
    header, payload, signature = token.split(".")
    with pytest.raises(InvalidToken):
        # Its first character changed, so it always differs (a signature that already ends in "AA" would not).
        await verifier.verify(f"{header}.{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}")
    assert len(checked) == 1, "another token, however alike, is checked"
    past_expiry = time.time() + 901
    monkeypatch.setattr(tokens.time, "time", lambda: past_expiry)
    with pytest.raises(InvalidToken):
        await verifier.verify(token)
    assert len(checked) == 2, "past its expiry the token is checked again (and refused)"


async def test_an_invalid_token_is_never_remembered(authority) -> None:
    _, verifier = authority
    expired = TokenIssuer(KEY, issuer="verbinding", audience="api", ttl_seconds=-10)
    token = expired.issue(Identity(subject="ngo-1", kind="client", roles=[Role.ngo_partner]))
    for _ in range(2):
        with pytest.raises(InvalidToken):
            await verifier.verify(token)
