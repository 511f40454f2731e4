"""Bucket keys of the gateway's shared limits: keyed hashes, so the table never holds a name or an address."""

from __future__ import annotations

import hashlib
import hmac


def bucket_secret(identity_signing_key: str) -> bytes:
    """A key for hashing bucket keys, derived from the identity signing key every gateway replica already holds (never
    stored in the database): replicas hash alike, and the table alone cannot be matched against candidates."""
    return hmac.new(identity_signing_key.encode(), b"verbinding rate-limit buckets", hashlib.sha256).digest()


def keyed(secret: bytes, *parts: str) -> str:
    """HMAC-SHA256 of `parts` under `secret`, hex."""
    return hmac.new(secret, "\0".join(parts).encode("utf-8", "replace"), hashlib.sha256).hexdigest()
