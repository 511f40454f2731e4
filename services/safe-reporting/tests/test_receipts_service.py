"""Receipts: at least 64 bits from the OS's secure source, easy to write down, stored as a slow peppered hash."""

from __future__ import annotations

import math
import re

from safe_reporting.reports import receipts


def test_ten_thousand_receipts_are_distinct_and_carry_at_least_64_bits() -> None:
    codes = [receipts.new_receipt() for _ in range(10_000)]
    assert len(set(codes)) == 10_000
    assert all(re.fullmatch(r"\d{4}(-\d{4}){4}", code) for code in codes)
    assert receipts.ENTROPY_BITS == receipts.DIGITS * math.log2(10) >= 64
    # Every digit position takes every value: a sign the code is uniform, not patterned.
    digits = [code.replace("-", "") for code in codes]
    for position in range(receipts.DIGITS):
        assert {d[position] for d in digits} == set("0123456789")


def test_a_receipt_is_recognised_however_it_was_written_down() -> None:
    code = receipts.new_receipt()
    digits = code.replace("-", "")
    for written in (code, digits, " ".join(code.split("-")), code.replace("-", ".")):
        assert receipts.normalise(written) == digits
    assert receipts.normalise(code[:-1]) is None
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in digits)  # the same code typed on an Arabic keyboard
    assert receipts.normalise(arabic_indic) == digits
    assert receipts.normalise("x" * 20) is None


async def test_the_verifier_matches_only_its_own_code_and_a_missing_one_matches_nothing() -> None:
    digits = receipts.new_receipt().replace("-", "")
    verifier = await receipts.make_verifier(digits)
    assert digits.encode() not in verifier
    assert await receipts.verify(digits, verifier)
    assert not await receipts.verify("0" * 20, verifier)
    assert not await receipts.verify(digits, None)


def test_the_lookup_key_depends_on_the_pepper() -> None:
    digits = "1" * 20
    assert receipts.lookup_key(digits, b"a" * 32) != receipts.lookup_key(digits, b"b" * 32)
