"""Envelope encryption of report contents: a data key per report, wrapped by a key only this service holds.

AES-256-GCM throughout. Each report has its own random data key; the key-encryption key (KEK) that wraps it comes
from settings (a base64 value or a key file) and has an id stored beside every wrapped key, so keys can rotate: new
reports use the current KEK, old ones are opened with the KEK their row names. Associated data binds a ciphertext
to its report and field, so one report's ciphertext cannot be moved to another.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE = 12


class SealBroken(Exception):
    """A ciphertext did not open: a wrong key, or a tampered row."""


@dataclass(frozen=True)
class Keyring:
    """The KEKs this service holds, by id, and the one new reports use."""

    keys: dict[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError("the current key id has no key")
        if any(len(key) != 32 for key in self.keys.values()):
            raise ValueError("every report key must be 32 bytes (AES-256)")


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


def new_data_key(keyring: Keyring, report_id: str) -> DataKey:
    key = AESGCM.generate_key(bit_length=256)
    wrapped = _seal(keyring.keys[keyring.current], key, f"dek:{report_id}".encode())
    return DataKey(key=key, wrapped=wrapped, kek_id=keyring.current)


def unwrap(keyring: Keyring, *, wrapped: bytes, kek_id: str, report_id: str) -> bytes:
    kek = keyring.keys.get(kek_id)
    if kek is None:
        raise SealBroken(f"no key with id {kek_id}")
    return _open(kek, wrapped, f"dek:{report_id}".encode())


def seal_text(data_key: bytes, text: str | None, *, report_id: str, field: str) -> bytes | None:
    if text is None:
        return None
    return _seal(data_key, text.encode(), f"{report_id}:{field}".encode())


def open_text(data_key: bytes, sealed: bytes | None, *, report_id: str, field: str) -> str | None:
    if sealed is None:
        return None
    return _open(data_key, sealed, f"{report_id}:{field}".encode()).decode()
