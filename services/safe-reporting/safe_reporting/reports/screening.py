"""Keeping immigration status out: field names that would carry it, and numbers shaped like a V-number or a BSN."""

from __future__ import annotations

import datetime
import re
import unicodedata
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

# How numbers are read. Every script's decimal digits count as digits (Arabic-Indic, Persian, full-width…):
# they are read as 0-9 first. A number is a run of digit groups joined by a few separators (spaces of any width,
# dashes, dots, slashes, brackets), so "111 222 333", "111-222-333" and "1112.22.333" are one number of nine digits.
_SEPARATORS = r"[\s\-\u2010-\u2015\u2212./()\u00b7_]"
_NUMBER = re.compile(rf"(?P<plus>\+{_SEPARATORS}{{0,2}})?(?P<digits>\d+(?:{_SEPARATORS}{{1,3}}\d+)*)")
# What is read as something else before numbers are judged, and so never refused: dates (day-month-year or
# year-month-day, when they are real dates), Dutch postcodes (1012 AB) and IBANs whose check digits are right.
_DATE = re.compile(r"(?<!\d)(?:(?P<d>\d{1,2})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})"
                   r"|(?P<y2>\d{4})-(?P<m2>\d{2})-(?P<d2>\d{2}))(?!\d)")
_POSTCODE = re.compile(r"(?<![\w])[1-9]\d{3} ?[A-Z]{2}(?![\w])")
_IBAN = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}")
_MASK = "\u0000"  # replaces what was read as a date, postcode or IBAN: it joins no number


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


def iban_is_valid(text: str) -> bool:
    """An IBAN's check digits: the country and check moved to the end, letters as 10-35, the number mod 97 is 1."""
    code = re.sub(r"\s", "", text).upper()
    if not 15 <= len(code) <= 34 or not code.isalnum():
        return False
    rearranged = code[4:] + code[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def identifying_numbers(text: str) -> list[str]:
    """What in `text` looks like a V-number or a BSN: the kinds found, never the numbers themselves.

    A V-number: "V" and 6-10 digits, or any ten-digit number that does not begin with 0 (a Dutch phone number
    written without +31 always does). A BSN: nine digits passing the eleven-test (eight: its leading zero dropped),
    however grouped. A number written with + (or 00, past ten digits) in front is an international phone number."""
    found: set[str] = set()
    for number, v_prefixed, international in _numbers(_masked(_ascii_digits(text))):
        if v_prefixed and 6 <= len(number[0]) <= 10:
            found.add(_V)
        elif not international:
            found.update(_judged(number))
    return [kind for kind in (_V, _BSN) if kind in found]


_V, _BSN = "a V-number", "a citizen service number (BSN)"


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch for ch in text)


def _masked(text: str) -> str:
    def date_or_keep(match: re.Match[str]) -> str:
        day, month, year = (match["d"], match["m"], match["y"]) if match["d"] else (match["d2"], match["m2"],
                                                                                    match["y2"])
        try:
            datetime.date(int(year) if len(year) == 4 else 2000 + int(year), int(month), int(day))
        except ValueError:
            return match.group()
        return _MASK

    def iban_or_keep(match: re.Match[str]) -> str:
        # The pattern may run on into the next words: the longest prefix with right check digits is the IBAN.
        candidate = match.group()
        for end in range(len(candidate), 14, -1):
            if iban_is_valid(candidate[:end]):
                return _MASK + candidate[end:]
        return candidate

    text = _IBAN.sub(iban_or_keep, text)
    text = _DATE.sub(date_or_keep, text)
    return _POSTCODE.sub(_MASK, text)


_V_BEFORE = re.compile(rf"(?<![^\W\d_])[Vv]{_SEPARATORS}{{0,3}}$")


def _numbers(text: str) -> Iterable[tuple[list[str], bool, bool]]:
    """Each number: its digits whole then by group, whether a "V" stands before it, whether it is international."""
    for match in _NUMBER.finditer(text):
        groups = re.findall(r"\d+", match["digits"])
        digits = "".join(groups)
        v_prefixed = match["plus"] is None and bool(_V_BEFORE.search(text, 0, match.start()))
        international = match["plus"] is not None or (digits.startswith("00") and len(digits) > 10)
        yield [digits, *groups], v_prefixed, international


def _judged(number: list[str]) -> set[str]:
    digits, groups = number[0], number[1:]
    if len(digits) == 10:
        return set() if digits.startswith("0") else {_V}
    if len(digits) == 9 or (len(digits) == 8 and not digits.startswith("0")):
        return {_BSN} if passes_eleven_test(digits) else set()
    if len(digits) < 10:
        return set()
    # A longer run (e.g. a sentence's numbers joined by a full stop): every run of whole groups of 9 or 10 digits.
    found = set()
    for first in range(len(groups)):
        for last in range(first + 1, len(groups) + 1):
            window = "".join(groups[first:last])
            if len(window) == 9 and passes_eleven_test(window):
                found.add(_BSN)
            elif len(window) == 10 and not window.startswith("0"):
                found.add(_V)
    return found


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
