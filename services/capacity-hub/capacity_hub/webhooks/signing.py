"""Standard Webhooks signatures of a delivery."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook


@functools.lru_cache(maxsize=4096)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)  # decodes the secret once, not on every delivery


def signed_headers(secrets: Sequence[str], *, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """Standard Webhooks headers; during a rotation the signature header carries both secrets' signatures."""
    signatures = " ".join(_signer(secret).sign(message_id, at, body) for secret in secrets)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json"}

