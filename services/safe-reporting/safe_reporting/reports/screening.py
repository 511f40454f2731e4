"""Keeping immigration status out: field names that would carry it, and numbers shaped like a V-number or a BSN."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# Names (normalised: lower case, letters and digits only) of fields that would carry immigration status.
_STATUS_FIELD_WORDS = (
    "residencestatus", "residencepermit", "immigrationstatus", "migrationstatus", "legalstatus", "status",
    "vnumber", "vnummer", "vreemdelingennummer", "aliennumber", "alienregistration", "alien", "filenumber",
    "dossiernumber", "indnumber", "coanumber", "coaregistrationnumber", "bsn", "burgerservicenummer",
    "socialsecuritynumber", "citizenservicenumber", "nationality", "nationalitydocument", "passport",
    "passportnumber", "identitydocument", "iddocument", "idnumber", "documentnumber", "visa", "permit",
    "asylum", "asylumstatus", "undocumented", "countryoforigin",
)
_STATUS_FIELD_PARTS = ("status", "vnumber", "vnummer", "alien", "bsn", "passport", "nationality", "visa", "permit",
                       "asylum", "vreemdeling", "residence", "immigration", "iddocument", "documentnumber")

# A V-number (the immigration authorities' alien number): "V" followed by digits, or ten digits in a row.
_V_NUMBER = re.compile(r"(?<![A-Za-z0-9])[Vv][ .\-]?\d(?:[ .\-]?\d){5,9}(?!\d)|(?<!\d)\d{10}(?!\d)")
# A BSN candidate: nine digits in a row (or eight, a leading zero dropped), or written 1234.56.782. Groups split by
# spaces are left alone: that is how phone numbers are written, and a reporter may give one as contact.
_BSN_CANDIDATE = re.compile(r"(?<!\d)(?<!\d\.)(?:\d{8,9}|\d{4}\.\d{2}\.\d{3})(?!\.?\d)")


class StatusRefused(ValueError):
    """The request tried to send immigration status, or something shaped like an identifying number."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


def _normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def is_status_field(name: str) -> bool:
    """True when a field of this name would carry immigration status (or an identity number)."""
    word = _normalised(name)
    return word in _STATUS_FIELD_WORDS or any(part in word for part in _STATUS_FIELD_PARTS)


def status_fields(body: Any, path: str = "") -> list[str]:
    """Every field, at any depth, whose name would carry immigration status (dotted paths)."""
    found: list[str] = []
    if isinstance(body, Mapping):
        for key, value in body.items():
            where = f"{path}.{key}" if path else str(key)
            if is_status_field(str(key)):
                found.append(where)
            found.extend(status_fields(value, where))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            found.extend(status_fields(value, f"{path}[{index}]"))
    return found


def passes_eleven_test(digits: str) -> bool:
    """The BSN eleven-test: 9·d1 + 8·d2 + … + 2·d8 - 1·d9 is a multiple of 11 (and not all zeros)."""
    if len(digits) == 8:
        digits = "0" + digits
    if len(digits) != 9 or not digits.isdigit() or int(digits) == 0:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    return total % 11 == 0


def identifying_numbers(text: str) -> list[str]:
    """What in `text` looks like a V-number or a BSN: the kinds found, never the numbers themselves."""
    kinds = []
    if _V_NUMBER.search(text):
        kinds.append("a V-number")
    for match in _BSN_CANDIDATE.finditer(text):
        if passes_eleven_test(re.sub(r"\D", "", match.group())):
            kinds.append("a citizen service number (BSN)")
            break
    return kinds


def screen_texts(texts: Iterable[tuple[str, str | None]]) -> None:
    """Refuse when any of the (field, text) pairs holds something shaped like a V-number or a BSN."""
    for field, text in texts:
        if not text:
            continue
        kinds = identifying_numbers(text)
        if kinds:
            raise StatusRefused(
                f"{field} seems to contain {' and '.join(kinds)}. Please leave identity and immigration numbers "
                "out of your report: we never need them, and we do not store them.", field)
