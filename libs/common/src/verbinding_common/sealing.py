"""Envelope encryption of what a service keeps secret at rest: a data key per row, wrapped by a key from settings.

AES-256-GCM throughout. Each row (a report, a webhook endpoint) has its own random data key; the key-encryption key
(KEK) that wraps it comes from the service's settings (a base64 value or a key file) and its id is stored beside the
wrapped key, so keys rotate: new rows use the keyring's current KEK, old ones open with the KEK their row names.
Associated data binds a ciphertext to its row (`owner_id`) and field, so one row's ciphertext cannot be moved to
another's. A leaked database or backup holds nothing readable without the service's keys.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import overload
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE = 12


class SealBroken(Exception):
    """A ciphertext did not open: a wrong key, or a tampered row."""


@dataclass(frozen=True)
class Keyring:
    """The KEKs a service holds, by id, and the one new rows use."""

    keys: dict[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError("the current key id has no key")
        if any(len(key) != 32 for key in self.keys.values()):
            raise ValueError("every key-encryption key must be 32 bytes (AES-256)")


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


def new_data_key(keyring: Keyring, owner_id: str | UUID) -> DataKey:
    """A fresh data key for the row `owner_id`, wrapped by the keyring's current KEK."""
    key = AESGCM.generate_key(bit_length=256)
    return DataKey(key=key, wrapped=_seal(keyring.keys[keyring.current], key, f"dek:{owner_id}".encode()),
                   kek_id=keyring.current)


def unwrap(keyring: Keyring, *, wrapped: bytes, kek_id: str, owner_id: str | UUID) -> bytes:
    """The row's data key, opened with the KEK its row names."""
    kek = keyring.keys.get(kek_id)
    if kek is None:
        raise SealBroken(f"no key with id {kek_id}")
    return _open(kek, wrapped, f"dek:{owner_id}".encode())


@overload
def seal_text(data_key: bytes, text: str, *, owner_id: str | UUID, field: str) -> bytes: ...
@overload
def seal_text(data_key: bytes, text: None, *, owner_id: str | UUID, field: str) -> None: ...
@overload
def seal_text(data_key: bytes, text: str | None, *, owner_id: str | UUID, field: str) -> bytes | None: ...
def seal_text(data_key: bytes, text: str | None, *, owner_id: str | UUID, field: str) -> bytes | None:
    """`text` sealed for one field of one row (nothing stays nothing)."""
    if text is None:
        return None
    return _seal(data_key, text.encode(), f"{owner_id}:{field}".encode())


@overload
def open_text(data_key: bytes, sealed: bytes, *, owner_id: str | UUID, field: str) -> str: ...
@overload
def open_text(data_key: bytes, sealed: None, *, owner_id: str | UUID, field: str) -> None: ...
@overload
def open_text(data_key: bytes, sealed: bytes | None, *, owner_id: str | UUID, field: str) -> str | None: ...
def open_text(data_key: bytes, sealed: bytes | None, *, owner_id: str | UUID, field: str) -> str | None:
    """The text sealed for that field of that row; SealBroken if it was sealed for another or tampered with."""
    if sealed is None:
        return None
    return _open(data_key, sealed, f"{owner_id}:{field}".encode()).decode()
