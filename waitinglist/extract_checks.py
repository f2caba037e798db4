"""Checks of single values in a trust's extract: dates, OPCS-4 codes, NHS numbers, UK mobile
numbers and email addresses (the updates app checks a patient's mobile with `uk_mobile` too).

Each runs on every row of a million-row file, so each is quick: dates and codes are parsed once
per distinct text, and the usual spellings of NHS numbers, mobiles and email addresses are
recognised directly, leaving only the rest to the library that judges them (nhs-number,
phonenumbers, Django's validate_email), so that the verdict is always the library's.
"""

import functools
import re
import unicodedata
from datetime import date

import nhs_number
import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


# A million rows hold only some tens of thousands of distinct dates: each is parsed once.
@functools.lru_cache(maxsize=100_000)
def is_date(value: str) -> date | None:
    """The date, if the text is one in the form YYYY-MM-DD (no other ISO form, such as the
    ten-character week date 2026-W09-7, which date.fromisoformat would take)."""
    if not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


_OPCS = re.compile(r"([A-Z][0-9]{2})\.?([0-9]{1,2})?")


@functools.lru_cache(maxsize=100_000)
def opcs_code(value: str) -> str | None:
    """The OPCS-4 code in its usual spelling (W37.1), if the text is one."""
    if match := _OPCS.fullmatch(value.upper()):
        return match[1] + (f".{match[2]}" if match[2] else "")
    return None


# The library's is_valid reformats its argument before checking the digit, which costs more than
# the check itself. For ten ASCII digits that reformatting changes nothing, so the check digit is
# compared directly, except in the Scottish CHI range, where is_valid also requires the first six
# digits to be a date. Ten-digit texts compare like the numbers they spell.
[_CHI] = nhs_number.REGION_SCOTLAND.ranges  # one range: this line fails loudly if that changes
_CHI_FIRST, _CHI_LAST = f"{_CHI.start:010d}", f"{_CHI.end:010d}"


# The check digit comes from a weighted sum of the first nine digits, modulo 11, so that sum is
# the sum of three three-digit groups' parts. Each group's part, for each of its 1,000 values,
# is worked out once by the library itself: the number "123000000" has only the first group's
# part, and its check digit gives that part (modulo 11) back. Then a number's check digit takes
# three lookups, not nine multiplications (a third of a microsecond, against two).
def _group_parts(before: int) -> dict[str, int]:
    parts = {}
    for value in range(1000):
        group = f"{value:03d}"
        check = nhs_number.calculate_checksum("0" * before + group + "0" * (6 - before))
        parts[group] = (11 - check) % 11
    return parts


_FIRST_GROUP, _SECOND_GROUP, _THIRD_GROUP = _group_parts(0), _group_parts(3), _group_parts(6)


def ascii_digits(number: str) -> str:
    """A number the library accepted, in ASCII digits: it also accepts the decimal digits of
    other scripts ("٩٩٩..."), which must be stored as the same NHS number as "999..."."""
    return number if number.isascii() else "".join(str(unicodedata.decimal(c)) for c in number)


def valid_nhs_number(number: str) -> bool:
    """nhs_number.is_valid's verdict on a number already known to be 10 digits."""
    if not number.isascii() or _CHI_FIRST <= number <= _CHI_LAST:
        return nhs_number.is_valid(number)
    remainder = (
        _FIRST_GROUP[number[:3]] + _SECOND_GROUP[number[3:6]] + _THIRD_GROUP[number[6:9]]
    ) % 11
    # The library's rule: 11 less the remainder, 11 standing for 0 and 10 for no valid number.
    return (11 - remainder) % 11 == int(number[9])


_MOBILE_FAST = re.compile(r"(?:\+44|0044|0)(7[0-9]{9})")


def uk_mobile(value: str) -> str:
    """A UK mobile (07 and 9 more digits) in E.164 form, or "" if it is not one.

    The usual spellings are recognised directly; anything else goes to phonenumbers, which is
    thorough but too slow for every row of a million-row file. Ofcom's drama range counts.
    """
    if match := _MOBILE_FAST.fullmatch(value.replace(" ", "")):
        return f"+44{match[1]}"
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return ""
    national = str(number.national_number)
    if number.country_code != 44 or len(national) != 10 or not national.startswith("7"):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# The usual shape of an address, every one of which Django's validate_email also accepts (an
# ASCII dot-atom before the @; after it, ASCII labels of 1 to 63 characters that neither start
# nor end with a hyphen, then a top-level domain of letters). Anything else goes to Django.
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_EMAIL_FAST = re.compile(
    rf"[a-zA-Z0-9_+-]+(?:\.[a-zA-Z0-9_+-]+)*@{_LABEL}(?:\.{_LABEL})*\.[a-zA-Z]{{2,63}}"
)


def valid_email(value: str) -> bool:
    """Whether Django's validate_email accepts the text."""
    if len(value) <= 320 and _EMAIL_FAST.fullmatch(value):
        return True
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True
