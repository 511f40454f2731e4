"""A running service keeps what start-up made out of the cyclic collector's sight, and collects its youngest
generation less often; stopped, the process is as it was."""

from __future__ import annotations

import gc

from verbinding_common.app import create_service_app
from verbinding_testing.fixtures import KafkaServer, running_app, test_settings


async def test_a_running_service_freezes_its_start_up_heap_and_collects_less_often_until_it_stops(
        database_url: str, kafka_server: KafkaServer) -> None:
    before = gc.get_threshold()
    settings = test_settings(database_url=database_url, bootstrap_servers=kafka_server.bootstrap_servers,
                             gc_gen0_threshold=12_345)
    app = create_service_app(settings=settings, title="example")
    async with running_app(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == (12_345, *before[1:])
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_apps_running_at_once_leave_the_process_as_it_was_once_the_last_stops(
        database_url: str, kafka_server: KafkaServer) -> None:
    before = gc.get_threshold()
    settings = test_settings(database_url=database_url, bootstrap_servers=kafka_server.bootstrap_servers)
    first, second = (create_service_app(settings=settings, title=name) for name in ("first", "second"))
    async with running_app(first):
        async with running_app(second):
            assert gc.get_threshold()[0] == settings.gc_gen0_threshold
        assert gc.get_threshold()[0] == settings.gc_gen0_threshold and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
