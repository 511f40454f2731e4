"""Retention: old capacity changes (but each shelter's latest) and old delivery attempts are purged, in batches."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from capacity_hub.changes.models import CapacityChange
from capacity_hub.changes.retention import purge_past_retention
from capacity_hub.settings import CapacityHubSettings
from capacity_hub.webhooks.models import WebhookAttempt, WebhookEndpoint
from sqlalchemy import func, select


async def test_old_changes_and_attempts_are_purged_in_batches_but_each_shelters_latest_stays(
        sessionmaker, make_settings) -> None:
    old, recent = datetime.now(UTC) - timedelta(days=40), datetime.now(UTC) - timedelta(days=1)
    west, east = uuid.uuid4(), uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        for sequence in range(1, 8):  # west: seven old changes
            session.add(CapacityChange(event_id=f"w{sequence}", shelter_id=west, sequence=sequence, programme="lvv",
                                       operator="HVO-Querido", data={}, received_at=old))
        for sequence, at in ((1, old), (2, recent)):
            session.add(CapacityChange(event_id=f"e{sequence}", shelter_id=east, sequence=sequence, programme="lvv",
                                       operator="HVO-Querido", data={}, received_at=at))
        endpoint = WebhookEndpoint(organisation="HVO-Querido", url="https://example.org/hook", wrapped_key=b"k",
                                   kek_id="k1", secret_sealed=b"s")
        session.add(endpoint)
        await session.flush()
        session.add_all([WebhookAttempt(endpoint_id=endpoint.id, position=n, message_id=f"m{n}", latency_ms=1,
                                        delivered=True, attempted_at=old if n < 5 else recent) for n in range(8)])
    assert await purge_past_retention(sessionmaker=sessionmaker, settings=make_settings(retention_batch=2)) == (7, 5)
    async with sessionmaker() as session:
        left = list(await session.execute(select(CapacityChange.shelter_id, CapacityChange.sequence)
                                          .order_by(CapacityChange.position)))
        attempts = await session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert left == [(west, 7), (east, 2)] and attempts == 3


def test_the_retention_defaults_are_documented_figures() -> None:
    fields = CapacityHubSettings.model_fields
    assert fields["capacity_log_retention_days"].default == 30
    assert fields["webhook_attempt_retention_days"].default == 30


def test_outside_development_the_webhook_secret_key_must_be_given_and_not_the_development_one(tmp_path) -> None:
    with pytest.raises(ValueError, match="webhook_secret_key is not set"):
        CapacityHubSettings(environment="production")
    development = CapacityHubSettings(environment="development").webhook_secret_keys()["k1"]
    with pytest.raises(ValueError, match="development key"):
        CapacityHubSettings(environment="production", webhook_secret_key=base64.b64encode(development).decode())
    key_file = tmp_path / "key"
    key_file.write_text(base64.b64encode(b"\x01" * 32).decode())
    assert CapacityHubSettings(environment="production", webhook_secret_key_file=key_file) \
        .webhook_secret_keys() == {"k1": b"\x01" * 32}
