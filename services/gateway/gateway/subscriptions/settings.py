"""The gateway's settings for capacity delivery (webhooks and server-sent events)."""

from __future__ import annotations

from pydantic import Field

from verbinding_common.settings import ServiceSettings


class SubscriptionSettings(ServiceSettings):
    """Webhook delivery and the capacity stream. Back-off grows over hours in production; tests make it small."""

    webhook_timeout_s: float = 10.0
    webhook_backoff_base_s: float = 5.0
    webhook_backoff_max_s: float = 2 * 3600.0
    # Consecutive failed attempts before an endpoint is disabled: with the defaults about 12 hours of retries.
    webhook_max_failures: int = Field(default=15, ge=1)
    webhook_concurrency: int = Field(default=50, ge=1)
    webhook_lease_s: float = 60.0
    webhook_poll_interval_s: float = 0.5
    webhook_rotation_overlap_s: float = 24 * 3600.0
    # Outside development: https only, and no loopback, private or link-local targets (None: by environment).
    webhook_allow_insecure_targets: bool | None = None

    capacity_feed_poll_interval_s: float = 0.2
    capacity_feed_memory: int = Field(default=10_000, ge=100)
    sse_heartbeat_s: float = 15.0
    sse_send_timeout_s: float = 30.0

    @property
    def insecure_webhook_targets(self) -> bool:
        if self.webhook_allow_insecure_targets is None:
            return self.environment == "development"
        return self.webhook_allow_insecure_targets
