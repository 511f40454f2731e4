"""What a database administrator can still read without a key, made coarse: padded ciphertexts and day-grain times.

Contents are sealed with the library's envelope (verbinding_common.sealing); here the plaintext is first padded to a
size bucket (ISO/IEC 7816-4: one 0x01, then zeros), so a ciphertext's length tells only its bucket, not the length of
what a reporter wrote. Ciphertexts stored before padding open as they are. Times of reports, messages, consents and
referrals are stored at the day's grain (00:00 UTC): enough for retention and for the hub's work, too coarse to join
a report to a proxy's log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload
from uuid import UUID

from verbinding_common import sealing

# Plaintext sizes (UTF-8 bytes, the padding's marker included); past the largest, whole multiples of it.
BUCKETS = (256, 1024, 4096, 16384)
_MARK = "\x01"


def padded_size(length: int) -> int:
    """The bucket a plaintext of `length` bytes (marker included) is padded to."""
    for size in BUCKETS:
        if length <= size:
            return size
    return -(-length // BUCKETS[-1]) * BUCKETS[-1]


@overload
def seal_text(data_key: bytes, text: str, *, owner_id: str | UUID, field: str) -> bytes: ...
@overload
def seal_text(data_key: bytes, text: None, *, owner_id: str | UUID, field: str) -> None: ...
def seal_text(data_key: bytes, text: str | None, *, owner_id: str | UUID, field: str) -> bytes | None:
    """The text padded to its size bucket, then sealed (None stays None)."""
    if text is None:
        return None
    length = len(text.encode()) + 1
    return sealing.seal_text(data_key, text + _MARK + "\x00" * (padded_size(length) - length), owner_id=owner_id,
                             field=field)


@overload
def open_text(data_key: bytes, sealed: bytes, *, owner_id: str | UUID, field: str) -> str: ...
@overload
def open_text(data_key: bytes, sealed: None, *, owner_id: str | UUID, field: str) -> None: ...
def open_text(data_key: bytes, sealed: bytes | None, *, owner_id: str | UUID, field: str) -> str | None:
    """The text, its padding removed (a ciphertext sealed before padding opens as it was)."""
    text = sealing.open_text(data_key, sealed, owner_id=owner_id, field=field)
    if text is None:
        return None
    stripped = text.rstrip("\x00")
    return stripped[:-1] if stripped.endswith(_MARK) else text


def day_of(moment: datetime | None = None) -> datetime:
    """The start (00:00 UTC) of the day of `moment` (now): the grain at which times are stored."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)
