"""Checking a large, plain extract column by column, with polars (decision 0011).

Most trusts' extracts are plain: ASCII, no quoted fields, one record a line. Such a file is read
a few megabytes at a time, and each chunk's rows are checked a column at a time, in compiled
code, with the rules of `ExtractReader._validate`. A row any column doubts is checked by
`ExtractReader._validate` itself, which names every rule it breaks, so a rejection reads the
same either way. Valid rows leave as COPY text for the staging table.

The outcome is that of reading the file in one process, row by row: the same staged values,
rejections, line numbers, counts and refusals, in file order (tests compare the two). A chunk
with a line that is not one record (blank, or with the wrong number of fields) is read row by
row, and so is the rest of the file from the first chunk that is not plain (`plain`).
"""

import csv
import io
from collections.abc import Iterator
from itertools import batched
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from waitinglist.extract_checks import (
    _CHI_FIRST,
    _CHI_LAST,
    _EMAIL_FAST,
    _FIRST_GROUP,
    _MOBILE_FAST,
    _SECOND_GROUP,
    _THIRD_GROUP,
)
from waitinglist.extract_workers import BATCH_ROWS, _bytes_before
from waitinglist.ranking import (
    BAND_BY_PRIORITY_TYPE,
    BAND_BY_PROCEDURE_PRIORITY,
    PRIORITY_TYPES,
    UNRANKED_PRIORITIES,
)
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

if TYPE_CHECKING:
    from waitinglist.extract import ExtractReader

# Printable ASCII but the quote and the backslash, and line breaks: without quotes a field is the
# text between two commas, and without tabs, backslashes or other control characters it needs
# no escaping in COPY's text format. A carriage return may only end a line (\r\n).
_PLAIN_BYTES = bytes([*range(0x20, 0x7F), 0x0A, 0x0D]).replace(b'"', b"").replace(b"\\", b"")
# A plain file is checked this many bytes at a time: about 65,000 rows of a typical extract.
# Reading a million rows took 2.14 s, the process peaking at 315 MB (16 MB: 2.04 s, 423 MB;
# 4 MB: 2.20 s, 242 MB).
CHUNK_BYTES = 8 << 20

_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_OPCS = r"^([A-Z][0-9]{2})\.?([0-9]{1,2})?$"


def plain(data: bytes) -> bool:
    """Whether a chunk of whole lines is printable ASCII and line breaks (\n or \r\n), with
    no quotes or backslashes."""
    return not data.translate(None, _PLAIN_BYTES) and data.count(b"\r") == data.count(b"\r\n")


def starts_plain(path: Path) -> bool:
    """Whether the file's first chunk is plain. A file quoted throughout is read in worker
    processes (`extract_workers.py`); one plain at the start, here."""
    with path.open("rb") as raw:
        data = raw.read(CHUNK_BYTES)
    return plain(data[: data.rfind(b"\n") + 1])


def rest_as_copy_text(reader: "ExtractReader", split_by_consultant: bool) -> Iterator[str]:
    """The reader's valid rows after its first (`ExtractReader.batches`), as COPY text, a
    chunk of whole lines at a time."""
    reader._rest.close()
    first_line = reader._first.line
    with reader.path.open("rb") as raw:
        start = _bytes_before(reader.path, first_line)  # where `data` below starts
        raw.seek(start)
        carry = b""  # the start of a line that the last read cut short
        while block := raw.read(CHUNK_BYTES):
            data = carry + block
            cut = data.rfind(b"\n") + 1
            if not cut:
                carry = data  # no line ends in it yet: read on
                continue
            data, carry = data[:cut], data[cut:]
            if not plain(data):
                break
            yield from _chunk(reader, data, first_line, split_by_consultant)
            first_line += data.count(b"\n")
            start += len(data)
        else:
            if not carry:
                return
            if plain(carry):  # the file's last line, with no line break after it
                yield from _chunk(reader, carry, first_line, split_by_consultant)
                return
        # Not plain from here on (a quoted field may run over several lines): the rest of the
        # file row by row. Every line before was plain, so this one starts a record.
        raw.seek(start)
        yield from _row_by_row(reader, raw, first_line, split_by_consultant)


def _chunk(reader, data: bytes, first_line: int, split: bool) -> Iterator[str]:
    """A chunk of whole lines: column by column if each line is one record of the header's
    width, else row by row."""
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    names = [f"c{i}" for i in range(reader._width)]
    frame = None
    # No line has more fields than the header (polars refuses the chunk otherwise) and there
    # are as many commas as full lines have: then every line has the header's width.
    if data.count(b",") == lines * (reader._width - 1):
        try:
            frame = pl.read_csv(
                data, has_header=False, new_columns=names, infer_schema=False,
                quote_char=None, empty_string_is_null=False, raise_if_empty=False,
            )  # fmt: skip
        except pl.exceptions.ComputeError:
            frame = None
    if frame is None or len(frame) != lines:
        yield from _row_by_row(reader, io.BytesIO(data), first_line, split)
        return
    frame = frame.with_columns(pl.col(names[-1]).str.strip_suffix("\r"))  # a \r\n line end
    yield from _checked(reader, frame, names, first_line, split)


def _row_by_row(reader, raw, first_line: int, split: bool) -> Iterator[str]:
    """The rows of `raw` (bytes from the start of a record), checked as the reader checks
    them one at a time."""
    from waitinglist.extract import copy_text

    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
    rows = reader._rows(csv.reader(text), first_line)
    for batch in batched(rows, BATCH_ROWS):
        yield copy_text(batch, split)


def _checked(reader, frame: pl.DataFrame, names, first_line: int, split: bool) -> Iterator[str]:
    """A chunk's rows, each one record of the header's width."""
    from waitinglist.extract import copy_text

    before = reader.rows_read
    staged = frame.with_row_index("n").select(
        pl.col("n"), *_staged(reader, names, first_line, split)
    )
    good = staged.filter(pl.col("ok")).drop("n", "ok")
    yield good.write_csv(
        separator="\t", quote_style="never", null_value="\\N", include_header=False,
        line_terminator="\n",
    )  # fmt: skip
    # Rows a column doubted: checked row by row, in file order, as the reader checks them.
    doubted = staged.filter(~pl.col("ok"))["n"].to_list()
    valid = []
    for n, fields in zip(doubted, frame[doubted].rows(), strict=True):
        reader.rows_read = before + n + 1
        if row := reader._validate(first_line + n + 1, list(fields)):
            valid.append(row)
    reader.rows_read = before + len(frame)
    if valid:
        yield copy_text(valid, split)


def _staged(reader, names: list[str], first_line: int, split: bool) -> list[pl.Expr]:
    """The staging table's columns, and `ok`: whether every column's value is certainly valid
    (any doubt, and `_validate` decides)."""
    from waitinglist.extract import _PRIORITY_SPELLING, LIST_TYPES

    # The contract's columns, by the reader's own choice of the file's columns (an optional
    # column the file lacks reads as blank).
    picked = reader._columns([*names, ""])
    (
        week, provider, identifier, number, birth, function, list_type, clock, local_id,
        priority, priority_type, procedure, consultant, tci, outpatient, validated, referrer,
        email, mobile,
    ) = (pl.col(name).str.strip_chars(" ") if name else pl.lit("") for name in picked)  # fmt: skip
    today, week_ending = reader.today, reader.week_ending

    number = number.str.replace_all(" ", "", literal=True)
    list_type = list_type.str.to_uppercase()
    priority_text = priority
    priority = priority.str.to_uppercase().replace_strict(
        _PRIORITY_SPELLING, default=None, return_dtype=pl.String
    )
    opcs = procedure.str.to_uppercase().str.extract_groups(_OPCS)
    procedure_code = (
        pl.when(opcs.struct["2"].is_null())
        .then(opcs.struct["1"])
        .otherwise(pl.concat_str(opcs.struct["1"], pl.lit("."), opcs.struct["2"]))
    )
    consultant = consultant.str.to_uppercase()
    referrer = referrer.str.to_uppercase()
    mobile_digits = mobile.str.replace_all(" ", "", literal=True).str.extract(_MOBILE_FAST_RE, 1)
    band = (
        pl.when(priority.is_in(list(UNRANKED_PRIORITIES)))
        .then(None)
        .when(priority.is_not_null())
        .then(priority.replace_strict(BAND_BY_PROCEDURE_PRIORITY, default=None))
        .otherwise(priority_type.replace_strict(BAND_BY_PRIORITY_TYPE, default=None))
        .cast(pl.Int64)
    )
    ok = pl.all_horizontal(
        week == reader._week_text,
        provider.str.to_uppercase() == reader.provider_code,
        identifier.str.len_chars().is_between(1, 20),
        _nhs_number_ok(number),
        _date_ok(birth) & (birth.str.to_date("%Y-%m-%d", strict=False) < today),
        function.is_in(list(TREATMENT_FUNCTIONS)),
        list_type.is_in(list(LIST_TYPES)),
        _date_ok(clock) & (clock.str.to_date("%Y-%m-%d", strict=False) <= week_ending),
        (priority_text == "") | priority.is_not_null(),
        priority_type.is_in(list(PRIORITY_TYPES)),
        (procedure == "") | procedure_code.is_not_null(),
        (consultant == "") | consultant.str.contains(r"^[A-Z0-9]{1,8}$"),
        local_id.str.len_chars() <= 10,
        (tci == "") | _date_ok(tci),
        (outpatient == "") | _date_ok(outpatient),
        (validated == "") | _date_ok(validated),
        (referrer == "") | referrer.str.contains(r"^[A-Z0-9]{3,6}$"),
        (email == "") | ((email.str.len_chars() <= 320) & email.str.contains(_EMAIL_FAST_RE)),
        (mobile == "") | mobile_digits.is_not_null(),
    ).fill_null(False)

    def or_null(text: pl.Expr) -> pl.Expr:
        return pl.when(text == "").then(None).otherwise(text)

    return [
        (pl.col("n") + first_line + 1).alias("line"),
        identifier.alias("identifier"),
        number.alias("nhs_number"),
        birth.alias("birth_date"),
        function.alias("treatment_function"),
        list_type.alias("list_type"),
        clock.alias("clock_start"),
        priority.fill_null("").alias("procedure_priority"),
        priority_type.alias("priority_type"),
        band.alias("band"),
        procedure_code.fill_null("").alias("procedure_code"),
        consultant.alias("consultant_code"),
        local_id.alias("local_patient_identifier"),
        or_null(tci).alias("tci_date"),
        or_null(outpatient).alias("outpatient_appointment_date"),
        or_null(validated).alias("last_validated"),
        referrer.alias("referring_organisation"),
        email.alias("email"),
        pl.when(mobile == "")
        .then(pl.lit(""))
        .otherwise(pl.lit("+44") + mobile_digits)
        .alias("mobile"),
        (consultant if split else pl.lit("")).alias("queue_consultant"),
        ok.alias("ok"),
    ]


# The quick patterns of `extract_checks`, whole-text, for polars' regular expressions.
_MOBILE_FAST_RE = f"^{_MOBILE_FAST.pattern}$"
_EMAIL_FAST_RE = f"^{_EMAIL_FAST.pattern}$"


def _date_ok(text: pl.Expr) -> pl.Expr:
    """YYYY-MM-DD, a real date, year 1 or later (as `is_date`)."""
    return (
        text.str.contains(_DATE)
        & (text >= "0001")
        & text.str.to_date("%Y-%m-%d", strict=False).is_not_null()
    )


# The library's group sums (`extract_checks`), each as a column indexed by the group's value.
_GROUP_PARTS = [
    pl.Series([groups[f"{value:03d}"] for value in range(1000)], dtype=pl.Int64)
    for groups in (_FIRST_GROUP, _SECOND_GROUP, _THIRD_GROUP)
]


def _nhs_number_ok(number: pl.Expr) -> pl.Expr:
    """`valid_nhs_number`'s verdict, through the library's own group sums: ten digits, outside
    Scotland's CHI range (there `_validate` asks the library itself)."""

    def part(start: int, groups: pl.Series) -> pl.Expr:
        return pl.lit(groups).gather(number.str.slice(start, 3).cast(pl.Int64, strict=False))

    first, second, third = _GROUP_PARTS
    remainder = (part(0, first) + part(3, second) + part(6, third)) % 11
    last = number.str.slice(9, 1).cast(pl.Int64, strict=False)
    return (
        number.str.contains(r"^[0-9]{10}$")
        & ((number < _CHI_FIRST) | (number > _CHI_LAST))
        & (((11 - remainder) % 11) == last)
    )
