"""The capacity hub's metrics: webhook attempts by outcome, endpoints disabled, server-sent-event clients connected.
No endpoint, URL or organisation in any label."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from verbinding_common.metrics import gauge, meter, sampled

from .webhooks.models import EndpointStatus, WebhookEndpoint

webhook_attempts = meter().create_counter(
    "verbinding.webhook.attempts", unit="{attempt}",
    description="Webhook delivery attempts, by outcome (delivered, failed)")
webhook_endpoints_disabled = meter().create_counter(
    "verbinding.webhook.disablements", unit="{endpoint}",
    description="Endpoints the hub disabled after delivery failures, by reason (gone, failures)")
webhook_endpoints = gauge("verbinding.webhook.endpoints", unit="{endpoint}",
                          description="Webhook endpoints, by status (active, paused, disabled)")
sse_clients = meter().create_up_down_counter("verbinding.sse.clients", unit="{client}",
                                             description="Server-sent-event streams open now")


def count_attempts(count: int, *, delivered: bool) -> None:
    """Delivered attempts are counted together, with each record round: one add per attempt was a measurable part
    of a delivery's CPU."""
    if count:
        webhook_attempts.add(count, {"outcome": "delivered" if delivered else "failed"})


def count_disablement(values: dict[str, object], *, gone: bool) -> None:
    """Count the endpoint's disablement when the update about to be written disables it."""
    if values.get("status") == EndpointStatus.disabled:
        webhook_endpoints_disabled.add(1, {"reason": "gone" if gone else "failures"})


async def sample(conn: AsyncConnection) -> None:
    counts = dict((await conn.execute(
        select(WebhookEndpoint.status, func.count()).group_by(WebhookEndpoint.status))).all())
    for status in EndpointStatus:
        webhook_endpoints.set(counts.get(status.value, 0), {"status": status.value})


endpoint_gauges = sampled(name="webhook-metrics", sample=sample)
