"""Webhook delivery of shelter capacity: verified, in order, retried, disabled and replayed, across restarts."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiohttp.abc import AbstractResolver
from capacity_hub.changes.feed import Change
from capacity_hub.main import create_app
from capacity_hub.webhooks.delivery import backoff_s
from capacity_hub.webhooks.service import Secrets
from capacity_hub.webhooks.signing import signed_headers
from capacity_hub.webhooks.targets import (
    AddressRefused,
    GuardedResolver,
    SendFailed,
    WebhookSender,
    forbidden,
    guarded_socket,
)
from hub_support import FAST_DELIVERY, CapacityPublisher, Receiver, Shelter
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from yarl import URL

from verbinding_common.contracts.shelter import Programme
from verbinding_testing.fixtures import eventually, running_app


@pytest.fixture
def make_hub(make_settings, own_broker):
    def make(**overrides: object):
        return create_app(make_settings(kafka_bootstrap_servers=own_broker.bootstrap_servers,
                                        **{**FAST_DELIVERY, **overrides}))
    return make


async def register(client: httpx.AsyncClient, as_ngo, receiver: Receiver, **filters: object) -> str:
    answer = await client.post("/webhooks", json={"url": receiver.url, **filters}, headers=as_ngo())
    assert answer.status_code == 201, answer.text
    receiver.secret = answer.json()["secret"]
    return answer.json()["endpoint_id"]


async def attempts(client: httpx.AsyncClient, as_ngo, endpoint_id: str) -> list[dict]:
    return (await client.get(f"/webhooks/{endpoint_id}/attempts", headers=as_ngo())).json()


async def test_verifying_receiver_gets_every_capacity_change_in_sequence_order(as_ngo, make_hub, own_broker) -> None:
    app = make_hub()
    everything, only_west = Receiver(), Receiver()
    west, east = Shelter(), Shelter(programme=Programme.dublin)
    delivered = 'verbinding_webhook_attempts_total{outcome="delivered"}'
    async with running_app(app) as client, everything.listening(), only_west.listening(), \
            CapacityPublisher(own_broker.bootstrap_servers) as publisher:
        before = await metric(client, delivered)
        endpoint_id = await register(client, as_ngo, everything)
        await register(client, as_ngo, only_west, shelter_ids=[str(west.id)])
        for _ in range(10):
            await publisher.publish(west, 3)
            await publisher.publish(east, 3)

        await eventually(lambda: asyncio.sleep(0, len(everything.received) >= 60), what="60 deliveries")
        await eventually(lambda: asyncio.sleep(0, len(only_west.received) >= 30), what="west's 30")

        async def recorded() -> list[dict]:  # attempts are recorded a moment after they are made
            tried = await attempts(client, as_ngo, endpoint_id)
            return tried if len(tried) >= 60 else []
        tried = await eventually(recorded, what="60 attempts recorded")

        async def counted() -> bool:  # with each record round
            return await metric(client, delivered) - before == 90
        await eventually(counted, what="the 90 deliveries counted")
    assert everything.sequences(west) == list(range(1, 31)) and everything.sequences(east) == list(range(1, 31))
    assert only_west.sequences(west) == list(range(1, 31)) and only_west.sequences(east) == []
    assert everything.refused == 0 and len(set(everything.message_ids)) == 60
    assert len(tried) == 60 and all(a["delivered"] and a["status_code"] == 204 for a in tried)


async def test_receiver_answering_500_for_a_while_gets_everything_in_order_after_it_recovers(
        as_ngo, make_hub, own_broker) -> None:
    app = make_hub()
    receiver, shelter = Receiver(), Shelter()
    receiver.answer = 500
    async with running_app(app) as client, receiver.listening(), \
            CapacityPublisher(own_broker.bootstrap_servers) as publisher:
        endpoint_id = await register(client, as_ngo, receiver)
        await publisher.publish(shelter, 10)

        async def failed_three_times() -> bool:
            return sum(a["status_code"] == 500 for a in await attempts(client, as_ngo, endpoint_id)) >= 3
        await eventually(failed_three_times, what="three failed attempts")
        receiver.answer = 204
        await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 10), what="all 10 after recovery")

        async def first_delivered() -> list | None:
            # The attempt is recorded once the receiver's answer is in: after the receiver has counted it.
            every = await attempts(client, as_ngo, endpoint_id)
            first = [a for a in every if a["position"] == min(a["position"] for a in every)]
            return first if any(a["delivered"] for a in first) else None
        retried = await eventually(first_delivered, what="the first message's delivery recorded")
    assert receiver.sequences(shelter) == list(range(1, 11))
    assert len({a["message_id"] for a in retried}) == 1 and len(retried) >= 4  # same webhook-id on every retry


async def test_receiver_down_for_a_while_gets_everything_once_it_listens_again(as_ngo, make_hub, own_broker) -> None:
    app = make_hub()
    receiver, shelter = Receiver(), Shelter()
    async with running_app(app) as client, CapacityPublisher(own_broker.bootstrap_servers) as publisher:
        endpoint_id = await register(client, as_ngo, receiver)
        await publisher.publish(shelter, 5)

        async def refused_three_times() -> bool:
            return sum(a["error"] is not None for a in await attempts(client, as_ngo, endpoint_id)) >= 3
        await eventually(refused_three_times, what="three refused connections")
        await publisher.publish(shelter, 5)
        async with receiver.listening():
            await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 10), what="all 10 once up")
    assert receiver.sequences(shelter) == list(range(1, 11))


async def test_receiver_answering_410_is_disabled_and_re_enabling_replays_what_it_missed(
        as_ngo, make_hub, own_broker) -> None:
    app = make_hub()
    receiver, shelter = Receiver(), Shelter()
    receiver.answer = 410
    async with running_app(app) as client, receiver.listening(), \
            CapacityPublisher(own_broker.bootstrap_servers) as publisher:
        endpoint_id = await register(client, as_ngo, receiver)
        await publisher.publish(shelter, 3)

        async def disabled() -> dict | None:
            endpoint = (await client.get(f"/webhooks/{endpoint_id}", headers=as_ngo())).json()
            return endpoint if endpoint["status"] == "disabled" else None
        endpoint = await eventually(disabled, what="the endpoint disabled")
        assert "410" in endpoint["disabled_reason"]
        assert len(await attempts(client, as_ngo, endpoint_id)) == 1
        await publisher.publish(shelter, 3)
        receiver.answer = 204
        resumed = await client.post(f"/webhooks/{endpoint_id}/resume", headers=as_ngo())
        assert resumed.json()["status"] == "active"
        await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 6), what="the 6 missed")
    assert receiver.sequences(shelter) == list(range(1, 7))


async def metric(client: httpx.AsyncClient, sample: str, *, never: tuple[str, ...] = ()) -> float:
    """One sample of the hub's /metrics (0 before it first moved); none of `never` anywhere in it."""
    text = (await client.get("/metrics")).text
    assert not [value for value in never if value in text], "no endpoint, URL or address in any metric"
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.rsplit(" ", 1)[0] == sample)


async def test_endpoint_failing_past_the_limit_is_disabled_with_its_reason(as_ngo, make_hub, own_broker) -> None:
    app = make_hub(webhook_max_failures=3)
    receiver = Receiver()
    receiver.answer = 503
    failed, disabled_ = ('verbinding_webhook_attempts_total{outcome="failed"}',
                         'verbinding_webhook_disablements_total{reason="failures"}')
    async with running_app(app) as client, receiver.listening(), \
            CapacityPublisher(own_broker.bootstrap_servers) as publisher:
        before = (await metric(client, failed), await metric(client, disabled_))
        endpoint_id = await register(client, as_ngo, receiver)
        await publisher.publish(Shelter(), 1)

        async def disabled() -> dict | None:
            endpoint = (await client.get(f"/webhooks/{endpoint_id}", headers=as_ngo())).json()
            return endpoint if endpoint["status"] == "disabled" else None
        endpoint = await eventually(disabled, what="the endpoint disabled")
        tried = await attempts(client, as_ngo, endpoint_id)
        never = (endpoint_id, receiver.url, "127.0.0.1")
        after = (await metric(client, failed, never=never), await metric(client, disabled_))
    assert endpoint["disabled_reason"] == "3 delivery attempts in a row failed"
    assert (after[0] - before[0], after[1] - before[1]) == (3, 1), "the failures and the disablement are counted"
    assert [a["status_code"] for a in tried] == [503, 503, 503]


async def test_slow_endpoint_does_not_hold_up_the_others(as_ngo, make_hub, own_broker) -> None:
    app = make_hub(webhook_timeout_s=5.0)
    slow, quick, shelter = Receiver(), Receiver(), Shelter()
    slow.delay_s = 30
    async with running_app(app) as client, slow.listening(), quick.listening(), \
            CapacityPublisher(own_broker.bootstrap_servers) as publisher:
        await register(client, as_ngo, slow)
        await register(client, as_ngo, quick)
        await publisher.publish(shelter, 20)
        await eventually(lambda: asyncio.sleep(0, len(quick.received) >= 20), what="the quick endpoint's 20")
        assert slow.received == []
    assert quick.sequences(shelter) == list(range(1, 21))


async def test_deliveries_survive_a_hub_restart(as_ngo, make_hub, own_broker) -> None:
    receiver, shelter = Receiver(), Shelter()
    first = make_hub()
    async with receiver.listening(), CapacityPublisher(own_broker.bootstrap_servers) as publisher:
        async with running_app(first) as client:
            await register(client, as_ngo, receiver)
            await publisher.publish(shelter, 3)
            await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 3), what="3 before the restart")
        await publisher.publish(shelter, 4)  # the hub is down
        second = make_hub()
        async with running_app(second):
            await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 7), what="4 after the restart")
    assert receiver.sequences(shelter) == list(range(1, 8))


async def test_a_stopping_hub_records_the_delivery_in_flight_and_sends_nothing_twice(as_ngo, make_hub,
                                                                                           own_broker) -> None:
    receiver, shelter = Receiver(), Shelter()
    receiver.delay_s = 0.5  # each answer takes a while: the hub stops with a delivery in flight
    async with receiver.listening(), CapacityPublisher(own_broker.bootstrap_servers) as publisher:
        first = make_hub()
        async with running_app(first) as client:
            await register(client, as_ngo, receiver)
            await publisher.publish(shelter, 3)
            await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 1), what="the first delivery",
                             interval=0.01)
        async with running_app(make_hub()):
            await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 3), what="the rest after the restart")
    assert receiver.sequences(shelter) == [1, 2, 3]


def test_tampered_body_or_old_timestamp_fails_verification_and_rotation_signs_with_both_secrets() -> None:
    old_secret, new_secret = "whsec_" + "a" * 43 + "=", "whsec_" + "b" * 43 + "="
    secrets = Secrets(current=new_secret, previous=old_secret, previous_until=datetime.now(UTC) + timedelta(hours=1))
    change = Change(position=1, event_id="e-1", shelter_id=Shelter().id, programme="lvv",
                    data={"sequence": 1, "occupied": 3}, traceparent=None)
    body = change.webhook_body
    headers = signed_headers(secrets.signing(datetime.now(UTC)), message_id="e-1", body=body, at=datetime.now(UTC))
    assert Webhook(new_secret).verify(body, headers)["data"]["occupied"] == 3
    assert Webhook(old_secret).verify(body, headers)["data"]["occupied"] == 3
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret).verify(body.replace('"occupied":3', '"occupied":0'), headers)
    stale_at = datetime.now(UTC) - timedelta(minutes=10)
    stale = signed_headers(secrets.signing(stale_at), message_id="e-1", body=body, at=stale_at)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret).verify(body, stale)


def test_back_off_grows_exponentially_with_jitter_up_to_its_ceiling() -> None:
    waits = [backoff_s(n, base_s=5, max_s=7200) for n in range(1, 16)]
    assert 2.5 <= waits[0] <= 5 and 40 <= waits[4] <= 80 and all(3600 <= w <= 7200 for w in waits[-3:])
    assert sum(waits) > 6 * 3600  # retried over hours before the endpoint is disabled


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.7", "172.16.5.5", "169.254.169.254",
                                     "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1"])
def test_loopback_private_and_link_local_addresses_are_forbidden(address: str) -> None:
    assert forbidden(address)


def test_public_addresses_are_allowed() -> None:
    assert not forbidden("145.7.0.10") and not forbidden("2a00:1450:4001::1")


async def test_every_connection_checks_the_address_it_resolves_to() -> None:
    """A name is checked by the resolver, an address written in the URL (never resolved) by the socket factory;
    the same sender with the check off reaches the receiver, so the refusals are the guard's."""
    receiver = Receiver()
    receiver.secret = "whsec_" + "a" * 43 + "="
    async with receiver.listening():
        sender = WebhookSender(check_addresses=True, timeout_s=2)
        try:
            for url in (receiver.url, receiver.url.replace("127.0.0.1", "localhost")):
                refused = r"^ConnectError: the URL.s host resolves to a loopback, private or link-local address$"
                with pytest.raises(SendFailed, match=refused):
                    await sender.post(URL(url), {"content-type": "application/json"}, b"{}")
        finally:
            await sender.aclose()
        assert receiver.received == [] and receiver.refused == 0
        unchecked = WebhookSender(check_addresses=False, timeout_s=2)
        try:
            assert await unchecked.post(URL(receiver.url), {"content-type": "application/json"}, b"{}") == 400
        finally:
            await unchecked.aclose()
    assert receiver.refused == 1  # unsigned: refused by the receiver, but it got there
    # No trace context towards NGO systems, and no compressed answers (they are dropped unread).
    assert "traceparent" not in receiver.headers[0] and receiver.headers[0]["accept-encoding"] == "identity"
    assert receiver.headers[0]["user-agent"] == "verbinding-capacity-hub"


class Resolving(AbstractResolver):
    """A resolver answering fixed addresses for any name: what a rebinding DNS server could answer."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list:
        return [{"hostname": host, "host": address, "port": port, "family": family, "proto": 0, "flags": 0}
                for address in self.addresses]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("addresses", [("10.1.2.3",), ("145.7.0.10", "192.168.0.7"), ("fd00::7",), ()])
async def test_a_host_resolving_to_any_private_address_is_refused_at_connect_time(addresses: tuple[str, ...]) -> None:
    with pytest.raises(AddressRefused, match="loopback, private or link-local"):
        await GuardedResolver(Resolving(*addresses)).resolve("ngo.example", 443)


async def test_a_host_resolving_to_public_addresses_only_is_let_through() -> None:
    answers = await GuardedResolver(Resolving("145.7.0.10", "2a00:1450:4001::1")).resolve("ngo.example", 443)
    assert [answer["host"] for answer in answers] == ["145.7.0.10", "2a00:1450:4001::1"]


def test_no_socket_is_opened_to_a_forbidden_address() -> None:
    for address in (("10.1.2.3", 443), ("169.254.169.254", 80), ("::1", 443, 0, 0)):
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        with pytest.raises(AddressRefused):
            guarded_socket((family, socket.SOCK_STREAM, 6, "", address))
    guarded_socket((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("145.7.0.10", 443))).close()  # not connected


async def test_replay_delivers_again_in_order_with_the_same_webhook_ids(as_ngo, make_hub, own_broker) -> None:
    app = make_hub()
    receiver, shelter = Receiver(), Shelter()
    async with running_app(app) as client, receiver.listening(), \
            CapacityPublisher(own_broker.bootstrap_servers) as publisher:
        endpoint_id = await register(client, as_ngo, receiver)
        await publisher.publish(shelter, 3)
        await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 3), what="the first 3")
        replayed = await client.post(f"/webhooks/{endpoint_id}/replay", json={"after_position": 0},
                                     headers=as_ngo())
        assert replayed.status_code == 200, replayed.text
        await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 6), what="the 3 again")
        await publisher.publish(shelter, 1)
        await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 7), what="the next one")
    assert receiver.sequences(shelter) == [1, 2, 3, 1, 2, 3, 4]
    assert receiver.message_ids[:3] == receiver.message_ids[3:6]


async def test_paused_endpoint_gets_nothing_until_resumed_then_everything_in_order(as_ngo, make_hub,
                                                                                     own_broker) -> None:
    app = make_hub()
    receiver, shelter = Receiver(), Shelter()
    async with running_app(app) as client, receiver.listening(), \
            CapacityPublisher(own_broker.bootstrap_servers) as publisher:
        endpoint_id = await register(client, as_ngo, receiver)
        await publisher.publish(shelter, 2)
        await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 2), what="the first 2")
        await client.post(f"/webhooks/{endpoint_id}/pause", headers=as_ngo())
        await asyncio.sleep(0.5)  # the serving task sees the pause at its next lease renewal (0.1 s here)
        await publisher.publish(shelter, 3)
        await asyncio.sleep(1.0)
        assert len(receiver.received) == 2
        await client.post(f"/webhooks/{endpoint_id}/resume", headers=as_ngo())
        await eventually(lambda: asyncio.sleep(0, len(receiver.received) >= 5), what="the 3 held back")
    assert receiver.sequences(shelter) == [1, 2, 3, 4, 5]


async def test_an_endpoint_deleted_before_its_attempts_are_recorded_holds_up_no_other_record(
        as_ngo, make_hub, own_broker) -> None:
    """Attempts are gathered for a while before they are written; the endpoint of some may be deleted meanwhile. Its
    attempts go with it (the rows would cascade away anyway), and every other endpoint's are still recorded."""
    app = make_hub(webhook_record_interval_s=3.0)
    gone, staying = Receiver(), Receiver()
    shelter = Shelter()
    async with running_app(app) as client, gone.listening(), staying.listening(), \
            CapacityPublisher(own_broker.bootstrap_servers) as publisher:
        gone_id = await register(client, as_ngo, gone)
        staying_id = await register(client, as_ngo, staying)
        await publisher.publish(shelter, 5)
        await eventually(lambda: asyncio.sleep(0, len(gone.received) >= 5 and len(staying.received) >= 5),
                         what="both endpoints served")
        assert (await client.delete(f"/webhooks/{gone_id}", headers=as_ngo())).status_code == 204
        await publisher.publish(shelter, 5)

        async def recorded() -> list[dict]:
            tried = await attempts(client, as_ngo, staying_id)
            return tried if len(tried) >= 10 else []
        tried = await eventually(recorded, what="the staying endpoint's 10 attempts recorded")
    assert [a["delivered"] for a in tried] == [True] * 10
