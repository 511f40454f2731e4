"""A stream is handed off, never relayed: the gateway checks the caller and answers 307 to the service's own
address with the same query and a ticket that stands for the caller there (the events never pass its event loop)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from gateway.main import create_app
from gateway_support import bearer

from verbinding_common.auth import IdentityVerifier, InvalidIdentity, Role
from verbinding_testing.fixtures import running_app

STREAM = "/api/v1/capacity/stream"
SHELTER = "5c4f7a62-0d5e-4d0b-9a47-0f3f3d7f2b11"


async def test_the_stream_is_handed_off_to_the_hub_with_a_ticket_for_the_caller(make_settings,
                                                                                 identity_keys) -> None:
    app = create_app(make_settings(capacity_hub_url="http://capacity-hub.internal:8006"))
    async with running_app(app) as client:
        answer = await client.get(STREAM, params=[("programme", "lvv"), ("shelter_id", SHELTER),
                                                  ("ticket", "one-of-my-own"), ("padding", "x" * 5000)],
                                  headers=bearer(app, Role.ngo_partner, subject="ngo-hvo", organisation="HVO-Querido"))
    assert answer.status_code == 307, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert "Location" in app.openapi()["paths"][STREAM]["get"]["responses"]["307"]["headers"], "documented"
    location = urlsplit(answer.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("http", "capacity-hub.internal:8006", "/stream")
    query = parse_qsl(location.query)
    assert query[:2] == [("programme", "lvv"), ("shelter_id", SHELTER)]
    assert [name for name, _ in query] == ["programme", "shelter_id", "ticket"], "only what the stream declares"
    ticket = dict(query)["ticket"]

    hub = IdentityVerifier(identity_keys[1], audience="capacity-hub")
    caller = hub.verify_ticket(ticket)
    assert (caller.subject, caller.roles, caller.organisation) == ("ngo-hvo", [Role.ngo_partner], "HVO-Querido")
    with pytest.raises(InvalidIdentity):
        hub.verify(ticket)  # in a URL: it must open the stream and nothing else
    with pytest.raises(InvalidIdentity):
        IdentityVerifier(identity_keys[1], audience="shelter-placement").verify_ticket(ticket)


async def test_a_public_address_for_the_hub_is_where_clients_are_sent(make_settings) -> None:
    app = create_app(make_settings(capacity_hub_url="http://capacity-hub:8006",
                                   public_urls={"capacity-hub": "https://capacity.example.org/"}))
    async with running_app(app) as client:
        answer = await client.get(STREAM, headers=bearer(app, Role.ops))
        refused = await client.get(STREAM, headers=bearer(app, Role.case_manager))
        anonymous = await client.get(STREAM)
    assert answer.status_code == 307
    assert answer.headers["location"].startswith("https://capacity.example.org/stream?ticket=")
    assert (refused.status_code, anonymous.status_code) == (403, 401), "checked before any hand-off"
    assert "location" not in refused.headers and "location" not in anonymous.headers
