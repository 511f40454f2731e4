"""Secrets of clients and users (the gateway's token issuer), stored only as PBKDF2 hashes and compared in constant
time.

Make a hash for VERBINDING_CLIENTS / VERBINDING_DEMO_USERS with:
    python -m verbinding_common.credentials          (reads the secret from stdin)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sys
from typing import Annotated

from pydantic import AfterValidator

SCHEME = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 100_000


def hash_secret(secret: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """`pbkdf2_sha256$<iterations>$<salt>$<hash>` (base64url, no padding) for a client secret or password."""
    salt = salt if salt is not None else os.urandom(16)
    digest = derive(secret, salt, iterations)
    return f"{SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, encoded: str) -> bool:
    """True when `secret` matches the stored hash; a malformed hash matches nothing."""
    try:
        scheme, iterations, salt, expected = encoded.split("$")
        if scheme != SCHEME:
            return False
        digest = derive(secret, _unb64(salt), int(iterations))
        return hmac.compare_digest(digest, _unb64(expected))
    except ValueError:
        return False


def derive(secret: str, salt: bytes, iterations: int) -> bytes:
    """The one key derivation every check runs (a test counts its work)."""
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)


def iterations_of(encoded: str) -> int:
    """The work factor of a stored hash (0 when it is not one of ours)."""
    return int(encoded.split("$")[1]) if is_hash(encoded) else 0


def dummy_hash(iterations: int) -> str:
    """A hash nobody's secret matches, of the given cost: checked when a name is unknown."""
    return hash_secret(os.urandom(16).hex(), iterations=iterations)


def is_hash(encoded: str) -> bool:
    parts = encoded.split("$")
    return len(parts) == 4 and parts[0] == SCHEME and parts[1].isdigit()


def _only_hashes(value: str) -> str:
    if not is_hash(value):
        raise ValueError(f"must be a {SCHEME} hash, never the secret itself")
    return value


# A setting that holds a secret's hash made here: a secret pasted in by mistake is refused at start-up.
StoredHash = Annotated[str, AfterValidator(_only_hashes)]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

if __name__ == "__main__":
    print(hash_secret(sys.stdin.readline().rstrip("\n")))
