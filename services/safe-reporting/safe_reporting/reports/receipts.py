"""Receipt codes: 20 random digits (66.4 bits) in groups of four, kept only as a peppered, slow hash.

The code is drawn from the operating system's secure random source (`secrets`). A row stores two things:
`lookup` = HMAC-SHA256(pepper, code), indexed, so a receipt finds its report without a scan, and `verifier` =
scrypt(code, salt), so that a stolen table (even with the pepper) still costs an attacker a slow hash per guess.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import os
import re
import secrets
import unicodedata
from concurrent.futures import ThreadPoolExecutor

DIGITS = 20
GROUP = 4
ENTROPY_BITS = DIGITS * math.log2(10)  # 66.4
# scrypt cost: N=2^13, r=8, p=1 (8 MiB; ~20-30 ms on one idle core of the development machine, see make bench).
# The look-up key is already peppered and a receipt has 66 bits, so this is depth, not the only defence: a thief
# holding the table and the pepper still pays one scrypt per guess of 2^66.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 13, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
# The slow hash runs off the event loop in a pool of its own, one thread per core (scrypt releases the GIL): bounded,
# so a burst queues here instead of taking every thread of the loop's default pool, and the rest of the service
# (health, the hub, jobs) keeps its threads. Submissions are also admitted only a few at a time (admission.py).
_HASHING = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="receipt-scrypt")


def new_receipt() -> str:
    """A fresh receipt code, e.g. `4821-0937-5512-8840-1193`."""
    digits = f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"
    return "-".join(digits[i:i + GROUP] for i in range(0, DIGITS, GROUP))


def normalise(code: str) -> str | None:
    """The receipt's digits, whatever the grouping (or the script's digits: ٠١٢…) the reporter wrote it down in;
    None when it cannot be a receipt."""
    digits = re.sub(r"[\s\-.]", "", code)
    if len(digits) != DIGITS or not all(ch.isdecimal() for ch in digits):
        return None
    return "".join(str(unicodedata.decimal(ch)) for ch in digits)


def lookup_key(digits: str, pepper: bytes) -> bytes:
    return hmac.new(pepper, digits.encode(), hashlib.sha256).digest()


def _scrypt(digits: str, salt: bytes) -> bytes:
    return hashlib.scrypt(digits.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_SCRYPT_MAXMEM,
                          dklen=32)


async def make_verifier(digits: str) -> bytes:
    """`salt || scrypt(code, salt)`, computed off the event loop in the bounded hashing pool."""
    salt = secrets.token_bytes(16)
    return salt + await asyncio.get_running_loop().run_in_executor(_HASHING, _scrypt, digits, salt)


_DUMMY = b"\x00" * 16 + b"\x00" * 32


async def verify(digits: str, verifier: bytes | None) -> bool:
    """Constant work: a missing verifier costs the same scrypt as a real one, so timing says nothing."""
    stored = verifier if verifier is not None else _DUMMY
    computed = await asyncio.get_running_loop().run_in_executor(_HASHING, _scrypt, digits, stored[:16])
    return verifier is not None and hmac.compare_digest(computed, stored[16:])
