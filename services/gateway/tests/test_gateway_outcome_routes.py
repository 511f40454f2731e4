"""A write's outcome is never a guess: 504 when a write may have acted, 503 only when nothing was done, and what a
service says beside its answer (Retry-After, Location, the replay marker, the client's Idempotency-Key) passes.

The shelter-placement behind the gateway is a stand-in over real HTTP (it checks the identity header as every
service does), a loopback server that never answers, or a closed port.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from gateway.main import create_app
from gateway_support import bearer, closed_port_url, never_answering, serving

from verbinding_common.auth import IdentityVerifier, Role, allow
from verbinding_testing.fixtures import running_app

PARTNER = (Role.ngo_partner,)
KEY = "6f0c1d7e-2b4a-4c8e-9a51-0d3f2e7b9c11"
BODY = {"resident_id": "00000000-0000-4000-8000-0000000000aa"}


def shelter_placement_stand_in(public_identity_pem: str) -> FastAPI:
    app = FastAPI()
    app.state.identity_verifier = IdentityVerifier(public_identity_pem, audience="shelter-placement")
    app.state.keys = []
    partners = [Depends(allow(Role.ngo_partner, Role.programme_coordinator))]

    @app.post("/placements", dependencies=partners)
    async def place(request: Request) -> JSONResponse:
        app.state.keys.append(request.headers.get("Idempotency-Key"))
        return JSONResponse({"placement_id": "p-1"}, status_code=201,
                            headers={"Location": "/placements/p-1", "Idempotent-Replayed": "true"})

    @app.post("/shelters", dependencies=partners)
    async def too_many() -> JSONResponse:
        return JSONResponse({"detail": "slow down"}, status_code=429, headers={"Retry-After": "30"})

    @app.post("/placements/{placement_id}/withdraw", dependencies=partners)
    async def taken() -> JSONResponse:
        return JSONResponse({"detail": "already placed", "existing_id": "p-1"}, status_code=409,
                            headers={"Location": "placements/p-1"})

    @app.post("/placements/{placement_id}/leave", dependencies=partners)
    async def elsewhere() -> JSONResponse:
        # An absolute address names a host inside the cluster: it never reaches the client.
        return JSONResponse({"ok": True}, headers={"Location": "http://shelter-placement:8000/placements/p-1"})

    return app


async def test_a_write_cut_off_after_it_left_is_a_504_that_says_the_outcome_is_unknown(make_settings) -> None:
    async with never_answering() as hung_url:
        app = create_app(make_settings(shelter_placement_url=hung_url, downstream_timeout_s=2.0))
        async with running_app(app) as client:
            partner = bearer(app, *PARTNER, organisation="HVO-Querido", kind="client")
            write = await client.post("/api/v1/shelter/placements", json=BODY,
                                      headers={**partner, "Idempotency-Key": KEY})
            read = await client.get("/api/v1/shelter/shelters", headers=partner)
    assert write.status_code == 504, write.text
    assert "may have been carried out" in write.json()["detail"] and "Idempotency-Key" in write.json()["detail"]
    assert write.headers["content-type"] == "application/problem+json" and write.headers["retry-after"]
    # A read that found no answer changed nothing: that is "unavailable", as before.
    assert read.status_code == 503 and read.json()["detail"] == "shelter-placement unavailable"


async def test_a_write_that_could_not_be_sent_is_a_503_nothing_was_done(make_settings) -> None:
    app = create_app(make_settings(shelter_placement_url=closed_port_url()))
    async with running_app(app) as client:
        partner = bearer(app, *PARTNER, organisation="HVO-Querido", kind="client")
        write = await client.post("/api/v1/shelter/placements", json=BODY,
                                      headers={**partner, "Idempotency-Key": KEY})
    assert write.status_code == 503 and write.json()["detail"] == "shelter-placement unavailable"
    assert write.headers["retry-after"]


async def test_the_services_headers_and_the_clients_key_pass_through(make_settings, identity_keys) -> None:
    service = shelter_placement_stand_in(identity_keys[1])
    async with serving(service) as url:
        app = create_app(make_settings(shelter_placement_url=url))
        async with running_app(app) as client:
            partner = bearer(app, *PARTNER, organisation="HVO-Querido", kind="client")
            placed = await client.post("/api/v1/shelter/placements", json=BODY,
                                       headers={**partner, "Idempotency-Key": KEY})
            unkeyed = await client.post("/api/v1/shelter/placements", json=BODY, headers=partner)
            throttled = await client.post("/api/v1/shelter/shelters", json={"name": "x"},
                                          headers=bearer(app, Role.programme_coordinator))
            left = await client.post("/api/v1/shelter/placements/p-1/leave", json={"outcome": "other"}, headers=partner)
            taken = await client.post("/api/v1/shelter/placements/p-1/withdraw", json={}, headers=partner)
    assert placed.status_code == 201 and placed.json() == {"placement_id": "p-1"}
    assert placed.headers["location"] == "/api/v1/shelter/placements/p-1"
    assert placed.headers["idempotent-replayed"] == "true"
    assert service.state.keys == [KEY, None]
    assert unkeyed.status_code == 201
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "30"
    assert left.status_code == 200 and "location" not in left.headers
    assert taken.status_code == 409 and taken.headers["location"] == "placements/p-1"
