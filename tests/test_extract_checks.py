"""The quick checks of NHS numbers and email addresses give the verdicts of the slow ones."""

import random

import nhs_number
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from waitinglist.extract_checks import _EMAIL_FAST, valid_email, valid_nhs_number


def django_accepts(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def with_check_digit(nine: str, right: bool = True) -> str:
    check = nhs_number.calculate_checksum(nine) % 11
    return nine + str((check if right else check + 1) % 10)


def test_nhs_numbers_get_the_librarys_own_verdict():
    rng = random.Random(25)
    numbers = [f"{rng.randrange(10**10):010d}" for _ in range(20_000)]
    numbers += [
        with_check_digit(f"{rng.randrange(10**9):09d}", rng.random() < 0.8) for _ in range(20_000)
    ]
    # Scottish CHI numbers, whose first six digits must also be a date (DDMMYY).
    for day, month in [(1, 1), (29, 2), (31, 4), (32, 1), (0, 5), (15, 13), (31, 12)]:
        for year in range(0, 100, 7):
            nine = f"{day:02d}{month:02d}{year:02d}{rng.randrange(1000):03d}"
            numbers += [with_check_digit(nine), with_check_digit(nine, right=False)]
    numbers += ["0000000000", "0100000000", "3112999999", "3113000000", "9999999999"]
    numbers += ["\u0669\u0669\u0660" * 3 + "\u0665", "999000000\u0665", "99900000\u00b2\u00b2"]

    verdicts = [valid_nhs_number(number) for number in numbers]

    assert verdicts == [nhs_number.is_valid(number) for number in numbers]
    assert 10_000 < sum(verdicts) < len(numbers) - 10_000


ADDRESSES = [
    "patient@example.com", "A.B+c@Example.CO.UK", "a_b-c@sub-domain.example.org", "x@localhost",
    "x@[127.0.0.1]", '"quoted"@example.com', "\u00fc@example.com", "a@b.c", "a@b.com.",
    "a..b@example.com", ".a@example.com", "a.@example.com", "a@-b.com", "a@b-.com", "a@b..com",
    "a@" + "b" * 63 + ".com", "a@" + "b" * 64 + ".com", "a@xn--bcher-kva.example",
    "a@b\u00fccher.de", "a b@example.com", "a@b@c.com", "a@b.xn--p1ai", "a@b.c0m", "a@1.2.3.4",
    "x" * 64 + "@" + "e" * 60 + ".com", "x" * 310 + "@e.com", "a@b.co-uk", "\u017f@example.com",
    "\u212a@example.com", "not-an-email", "@example.com", "a@", "a@.com", "a@b.c-", "a@b.-c",
    "a\n@example.com", "a@example.com\n", "a@b." + "c" * 63, "a@b." + "c" * 64,
]  # fmt: skip


def test_email_addresses_get_djangos_verdict():
    rng = random.Random(26)
    alphabet = "aZ09._+-@\"'\u00e9 [].-"
    addresses = ADDRESSES + [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12))) for _ in range(20_000)
    ]
    locals_, hosts, tops = (
        ["a", "a.b", "a+b", "a-b", "a_b", ".a"],
        ["b", "b-c", "b.c", "-b", "b-", "0"],
        ["uk", "c", "c0", "xn--p"],
    )
    addresses += [
        f"{rng.choice(locals_)}@{rng.choice(hosts)}.{rng.choice(tops)}" for _ in range(5_000)
    ]

    verdicts = [valid_email(address) for address in addresses]

    assert verdicts == [django_accepts(address) for address in addresses]
    # The quick path decides most of the common ones.
    quick = [address for address in addresses if _EMAIL_FAST.fullmatch(address)]
    assert len(quick) > 500 and all(django_accepts(address) for address in quick)
