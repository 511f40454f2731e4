"""Signing secrets sealed at rest: a data key per endpoint, wrapped by a key only the hub holds.

The envelope safe-reporting uses for report contents: AES-256-GCM throughout; each endpoint has its own random data
key; the key-encryption key (KEK) that wraps it comes from settings (a base64 value or a key file) and its id is
stored beside the wrapped key, so keys rotate (new endpoints use the current KEK, old ones open with the one their
row names). Associated data binds a ciphertext to its endpoint and field: one endpoint's secret cannot be moved to
another's row. A leaked database or backup holds no secret an attacker could sign with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE = 12


class SealBroken(Exception):
    """A ciphertext did not open: a wrong key, or a tampered row."""


@dataclass(frozen=True)
class Keyring:
    """The KEKs the hub holds, by id, and the one new endpoints use."""

    keys: dict[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError("the current key id has no key")
        if any(len(key) != 32 for key in self.keys.values()):
            raise ValueError("every webhook secret key must be 32 bytes (AES-256)")


@dataclass(frozen=True)
class DataKey:
    key: bytes
    wrapped: bytes
    kek_id: str


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE], sealed[NONCE:], aad)
    except (InvalidTag, ValueError):
        raise SealBroken("cannot decrypt") from None


def new_data_key(keyring: Keyring, endpoint_id: UUID) -> DataKey:
    key = AESGCM.generate_key(bit_length=256)
    return DataKey(key=key, wrapped=_seal(keyring.keys[keyring.current], key, f"dek:{endpoint_id}".encode()),
                   kek_id=keyring.current)


def unwrap(keyring: Keyring, *, wrapped: bytes, kek_id: str, endpoint_id: UUID) -> bytes:
    kek = keyring.keys.get(kek_id)
    if kek is None:
        raise SealBroken(f"no key with id {kek_id}")
    return _open(kek, wrapped, f"dek:{endpoint_id}".encode())


def seal_text(data_key: bytes, text: str, *, endpoint_id: UUID, field: str) -> bytes:
    return _seal(data_key, text.encode(), f"{endpoint_id}:{field}".encode())


def open_text(data_key: bytes, sealed: bytes, *, endpoint_id: UUID, field: str) -> str:
    return _open(data_key, sealed, f"{endpoint_id}:{field}".encode()).decode()
