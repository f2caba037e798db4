"""Reading a trust's open-pathways extract (shared/spec/waiting-list-extract.md).

`ExtractReader` streams the file once, so memory does not grow with its size. It gives each
valid row as a `StagedRow` tuple and keeps every rejected row as `Rejection`s (line, column,
reason). A file whose structure is wrong raises `ExtractRefused` with a one-line reason. A
pathway identifier repeated in the file is found afterwards, in the database (`importer.py`), so
the reader need not remember every identifier.

A large file is checked in worker processes, a few megabytes at a time, with exactly the outcome
of reading it whole in one process: the same rows, rejections and refusals, in file order
(`extract_workers.py`). The checks of single values are in `extract_checks.py`; `StagedRow`,
`Rejection` and `ExtractRefused` are defined in `extract_outcomes.py`, which both use.

Reasons never echo an NHS number or a birth date.
"""

import csv
import hashlib
import io
import multiprocessing
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from waitinglist.extract_checks import (
    ascii_digits,
    is_date,
    opcs_code,
    uk_mobile,
    valid_email,
    valid_nhs_number,
)
from waitinglist.extract_outcomes import ExtractRefused, Rejection, StagedRow
from waitinglist.extract_workers import ChunkEnd, rest_in_batches
from waitinglist.ranking import PRIORITY_TYPES, PROCEDURE_PRIORITIES, band
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

WEEK = "Week_Ending_Date"
PROVIDER = "ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER"
PATHWAY = "PATIENT_PATHWAY_IDENTIFIER"
NHS_NUMBER = "NHS_NUMBER"
BIRTH_DATE = "PERSON_BIRTH_DATE"
TREATMENT_FUNCTION = "ACTIVITY_TREATMENT_FUNCTION_CODE"
LIST_TYPE = "Waiting_List_Type"
CLOCK_START = "REFERRAL_TO_TREATMENT_PERIOD_START_DATE"
REQUIRED = [
    WEEK, PROVIDER, PATHWAY, NHS_NUMBER, BIRTH_DATE, TREATMENT_FUNCTION, LIST_TYPE, CLOCK_START
]  # fmt: skip

LOCAL_ID = "LOCAL_PATIENT_IDENTIFIER"
PROCEDURE_PRIORITY = "Procedure_Priority_Code"
PRIORITY_TYPE = "PRIORITY_TYPE_CODE"
PROCEDURE = "Proposed_Procedure_OPCS_Code"
CONSULTANT = "CONSULTANT_CODE"
TCI = "TCI_Date"
OUTPATIENT = "Outpatient_Future_Appointment_Date"
VALIDATED = "Last_PAS_Validation_Date"
REFERRER = "ORGANISATION_IDENTIFIER_REFERRING_ORGANISATION"
EMAIL = "Patient_Email_Address"
MOBILE = "Patient_Mobile_Number"
OPTIONAL = [
    LOCAL_ID, PROCEDURE_PRIORITY, PRIORITY_TYPE, PROCEDURE, CONSULTANT, TCI, OUTPATIENT,
    VALIDATED, REFERRER, EMAIL, MOBILE,
]  # fmt: skip

LIST_TYPES = frozenset({"IRTT", "ORTT", "PTLI", "PTLO", "RTTI", "RTTO"})
_ODS = re.compile(r"[A-Z0-9]{3,5}")
_ORG = re.compile(r"[A-Z0-9]{3,6}")
_CONSULTANT = re.compile(r"[A-Z0-9]{1,8}")
_PRIORITY_SPELLING = {code.upper(): code for code in PROCEDURE_PRIORITIES}
# A plain file this large (`extract_columns.plain`) is checked column by column; a smaller one
# row by row, which is as quick (30,000 rows, 3.9 MB: 0.18 s against 0.20 s; 8,000 rows:
# 0.11 s against 0.05 s).
COLUMNAR_MIN_BYTES = 4 << 20
# How many combinations of codes `ExtractReader._validate` remembers: a real list has a few
# thousand; a file with more still reads correctly, only slower.
_MOST_CODES = 100_000


class Rule(NamedTuple):
    column: str
    reason: str


NOT_A_DATE = "is not a date in the form YYYY-MM-DD"
# Every rule a row can break, in the order they are checked (a row's rejections are reported
# in this order).
BAD_WEEK = Rule(WEEK, NOT_A_DATE)
BAD_PROVIDER = Rule(PROVIDER, "is not an ODS code of 3 to 5 letters or digits")
BLANK_PATHWAY = Rule(PATHWAY, "is blank")
LONG_PATHWAY = Rule(PATHWAY, "is longer than 20 characters")
NHS_NOT_DIGITS = Rule(NHS_NUMBER, "is not 10 digits")
NHS_CHECK_DIGIT = Rule(NHS_NUMBER, "fails the NHS number check digit")
BAD_BIRTH = Rule(BIRTH_DATE, NOT_A_DATE)
FUTURE_BIRTH = Rule(BIRTH_DATE, "is not in the past")
BAD_FUNCTION = Rule(
    TREATMENT_FUNCTION, "is not a treatment function code in the NHS Data Dictionary"
)
BAD_LIST_TYPE = Rule(LIST_TYPE, f"must be one of {', '.join(sorted(LIST_TYPES))}")
BAD_CLOCK = Rule(CLOCK_START, NOT_A_DATE)
LATE_CLOCK = Rule(CLOCK_START, "is after the week-ending date")
BAD_PRIORITY = Rule(PROCEDURE_PRIORITY, "must be P1a, P1b, P2, P3, P4, P5, P6 or blank")
BAD_PRIORITY_TYPE = Rule(
    PRIORITY_TYPE, "must be 1 (routine), 2 (urgent), 3 (two-week wait) or blank"
)
BAD_PROCEDURE = Rule(PROCEDURE, "is not an OPCS-4 code such as W37.1")
BAD_CONSULTANT = Rule(CONSULTANT, "is not a consultant code of up to 8 letters or digits")
LONG_LOCAL_ID = Rule(LOCAL_ID, "is longer than 10 characters")
BAD_TCI = Rule(TCI, NOT_A_DATE)
BAD_OUTPATIENT = Rule(OUTPATIENT, NOT_A_DATE)
BAD_VALIDATED = Rule(VALIDATED, NOT_A_DATE)
BAD_REFERRER = Rule(REFERRER, "is not an ODS code of 3 to 6 letters or digits")
BAD_EMAIL = Rule(EMAIL, "is not an email address")
BAD_MOBILE = Rule(MOBILE, "is not a UK mobile number")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# COPY's text format: backslash escapes, tab between columns, \\N for NULL. Only free text
# can hold a backslash, tab or line break: codes, digits and dates were validated.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def _copy_line(row: StagedRow, split_by_consultant: bool) -> str:
    (
        line, identifier, number, birth_date, function, list_type, clock_start, priority,
        priority_type, band, procedure, consultant, local_id, tci, outpatient, validated,
        referrer, email, mobile,
    ) = row  # fmt: skip
    free_text = identifier + local_id + email
    # Tab, CR and LF are not printable: one test finds the rare row that needs escaping.
    if "\\" in free_text or not free_text.isprintable():
        identifier, local_id, email = (
            text.translate(_COPY_ESCAPES) for text in (identifier, local_id, email)
        )
    return "\t".join((
        str(line), identifier, number, birth_date, function, list_type, clock_start, priority,
        priority_type, _NULL if band is None else str(band), procedure, consultant, local_id,
        tci or _NULL, outpatient or _NULL, validated or _NULL, referrer, email, mobile,
        consultant if split_by_consultant else "",
    ))  # fmt: skip


def copy_text(rows: Sequence[StagedRow], split_by_consultant: bool) -> str:
    """Rows as lines of COPY text for the import's staging table."""
    return "\n".join([_copy_line(row, split_by_consultant) for row in rows]) + "\n"


def staging_values(rows: Sequence[StagedRow], split_by_consultant: bool) -> list[tuple]:
    """Rows as the values of the staging table's columns, for INSERT."""
    return [(*row, row.consultant_code if split_by_consultant else "") for row in rows]


class ExtractReader:
    """Streams one extract: iterate for valid rows; read the rest from its attributes.

    An import reads the first valid row (`read_first_row`, which fixes the trust and week) and
    then takes all valid rows staged in batches (`batches`).
    """

    def __init__(self, path: Path, today: date | None = None) -> None:
        if getattr(multiprocessing.current_process(), "_inheriting", False):
            # A worker process, while it starts, runs the script that started it again unless
            # the script's top level is guarded by `if __name__ == "__main__":`. Stop that
            # second import before it waits for ever on the first one's database lock: the
            # worker dies, and the first import checks its rows in its own process instead.
            raise RuntimeError(
                "an extract was read while a worker process started up: guard the top level "
                'of the script that imports it with `if __name__ == "__main__":`'
            )
        self.path = Path(path)
        self.today = today or date.today()
        self.provider_code: str | None = None
        self.week_ending: date | None = None
        self.rows_read = 0
        self.rows_rejected = 0
        self.rejections: list[Rejection] = []
        self.on_week_known: Callable[[str, date], None] | None = None
        self._week_text: str | None = None
        # Combinations of codes a valid row had, as its raw texts -> their staged values.
        self._valid_codes: dict[tuple[str, ...], tuple] = {}

    def __getstate__(self) -> dict:
        # What a worker process needs to check rows as this reader does: not what it found so
        # far, nor on_week_known (which uses the database).
        names = ["path", "today", "provider_code", "week_ending", "_week_text", "_columns"]
        return {name: getattr(self, name) for name in [*names, "_width"]}

    def __setstate__(self, state: dict) -> None:
        ExtractReader.__init__(self, state["path"], state["today"])
        vars(self).update(state)

    def __iter__(self) -> Iterator[StagedRow]:
        """Every valid row, checked in this process."""
        return self._read()

    def read_first_row(self) -> bool:
        """Reads the header and the rows up to the first valid one, whose trust and week
        `on_week_known` is told of; False if no row is valid."""
        self._rest = self._read()
        self._first = next(self._rest, None)
        return self._first is not None

    def batches[T](
        self, stage: Callable[[Sequence[StagedRow], bool], T], split_by_consultant: bool
    ) -> Iterator[T]:
        """All the valid rows (after `read_first_row`), in file order, as `stage` formats them
        (`copy_text` or `staging_values`) a batch at a time: a large file's in worker processes
        (`extract_workers.py`)."""
        yield stage([self._first], split_by_consultant)
        if stage is copy_text and self.path.stat().st_size >= COLUMNAR_MIN_BYTES:
            from waitinglist import extract_columns  # it uses this module's rules

            if extract_columns.starts_plain(self.path):
                yield from extract_columns.rest_as_copy_text(self, split_by_consultant)
                return
        yield from rest_in_batches(self, stage, split_by_consultant)

    def _read(self) -> Iterator[StagedRow]:
        with self.path.open("rb") as raw:
            if b"\x00" in raw.read(4096):
                raise ExtractRefused("the file is not a CSV file (it contains binary data)")
            raw.seek(0)
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
            reader = csv.reader(text)
            with _refusing_bad_text(reader, 0):
                header = next(reader, None)
            if not header or not any(cell.strip() for cell in header):
                raise ExtractRefused("the file is empty: it needs a header row and pathway rows")
            self._columns = self._column_getter(header)
            self._width = len(header)
            yield from self._rows(reader, 0)

    def _rows(self, reader, first_line: int, end: ChunkEnd | None = None) -> Iterator:
        """The valid rows `reader` gives; `first_line` is the number of lines before its own.
        A record that the end of a chunk cuts short is left unread (see `ChunkEnd`)."""
        end = end or ChunkEnd()
        width = self._width
        with _refusing_bad_text(reader, first_line):
            for fields in reader:
                if end.reached:
                    end.cut_short = True  # this record goes on in the next chunk
                    return
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue  # a blank line
                self.rows_read += 1
                line = first_line + reader.line_num
                if len(fields) != width:
                    raise ExtractRefused(
                        f"line {line} has {len(fields)} fields but the header has "
                        f"{width}: the file is not well-formed CSV"
                    )
                if row := self._validate(line, fields):
                    yield row

    def _column_getter(self, header: list[str]) -> Callable[[list[str]], tuple[str, ...]]:
        """Picks the contract's columns out of a row (with one empty cell added at its end,
        which an absent optional column reads)."""
        by_name: dict[str, int] = {}
        for index, name in enumerate(header):
            by_name.setdefault(name.strip().lower(), index)
        missing = [column for column in REQUIRED if column.lower() not in by_name]
        if len(missing) == len(REQUIRED):
            raise ExtractRefused(
                "the file is not an open-pathways extract: none of its columns are "
                f"the required ones ({', '.join(REQUIRED)})"
            )
        if missing:
            raise ExtractRefused(f"missing required column(s): {', '.join(missing)}")
        return itemgetter(*(by_name.get(c.lower(), len(header)) for c in REQUIRED + OPTIONAL))

    def _validate(self, line: int, fields: list[str]) -> StagedRow | None:
        """The row, if it breaks no rule; otherwise records a Rejection for each broken one.

        A million-row list repeats a few thousand combinations of its codes (week, trust,
        specialty, list type, priorities, procedure, consultant). Once a valid row has shown a
        combination valid, a row with the same codes needs only its own values checked, here;
        a row with new codes, or that breaks any rule, goes to `_judge`, which checks it whole
        and names every rule it breaks. With the quicker NHS check digit, reading and checking
        a million rows in one process went from 10.6 s to 7.4 s (docs/trust-data.md).
        """
        fields.append("")
        values = tuple(map(str.strip, self._columns(fields)))
        (
            week_text, provider, identifier, number, birth_text, function, list_type,
            clock_text, local_id, priority, priority_type, procedure, consultant, tci,
            outpatient, validated, referrer, email, mobile,
        ) = values  # fmt: skip
        codes = self._valid_codes.get(
            (week_text, provider, function, list_type, priority, priority_type, procedure,
             consultant)
        )  # fmt: skip
        if codes is None:
            return self._judge(line, values)
        number = number.replace(" ", "")
        birth = is_date(birth_text)
        clock_start = is_date(clock_text)
        referrer = referrer.upper()
        if (
            not identifier
            or len(identifier) > 20
            or len(number) != 10
            or not number.isdigit()
            or not valid_nhs_number(number)
            or birth is None
            or birth >= self.today
            or clock_start is None
            or clock_start > self.week_ending
            or len(local_id) > 10
            or (tci and is_date(tci) is None)
            or (outpatient and is_date(outpatient) is None)
            or (validated and is_date(validated) is None)
            or (referrer and not _ORG.fullmatch(referrer))
            or (email and not valid_email(email))
            or (mobile and not (mobile := uk_mobile(mobile)))
        ):
            return self._judge(line, values)
        list_type, priority, band, procedure, consultant = codes
        return StagedRow(
            line, identifier, ascii_digits(number), birth_text, function, list_type, clock_text,
            priority, priority_type, band, procedure, consultant, local_id, tci or None,
            outpatient or None, validated or None, referrer, email, mobile,
        )  # fmt: skip

    def _judge(self, line: int, values: tuple[str, ...]) -> StagedRow | None:
        """`_validate` for a row checked whole (`values` are its contract columns, stripped)."""
        (
            week_text, provider, identifier, number, birth_text, function, list_type,
            clock_text, local_id, priority, priority_type, procedure, consultant, tci,
            outpatient, validated, referrer, email, mobile,
        ) = values  # fmt: skip
        broken: list[Rule] = []

        provider = provider.upper()
        week = self.week_ending if week_text == self._week_text else is_date(week_text)
        if week is None:
            broken.append(BAD_WEEK)
        if provider != self.provider_code and not _ODS.fullmatch(provider):
            broken.append(BAD_PROVIDER)
        elif week is not None and (provider != self.provider_code or week != self.week_ending):
            self._check_one_provider_and_week(line, provider, week, week_text)

        if not identifier:
            broken.append(BLANK_PATHWAY)
        elif len(identifier) > 20:
            broken.append(LONG_PATHWAY)

        number = number.replace(" ", "")
        if len(number) != 10 or not number.isdigit():
            broken.append(NHS_NOT_DIGITS)
        elif not valid_nhs_number(number):
            broken.append(NHS_CHECK_DIGIT)

        birth = is_date(birth_text)
        if birth is None:
            broken.append(BAD_BIRTH)
        elif birth >= self.today:
            broken.append(FUTURE_BIRTH)
        if function not in TREATMENT_FUNCTIONS:
            broken.append(BAD_FUNCTION)
        list_type = list_type.upper()
        if list_type not in LIST_TYPES:
            broken.append(BAD_LIST_TYPE)
        clock_start = is_date(clock_text)
        if clock_start is None:
            broken.append(BAD_CLOCK)
        elif week is not None and clock_start > week:
            broken.append(LATE_CLOCK)

        if priority:
            priority = _PRIORITY_SPELLING.get(priority.upper(), priority)
            if priority not in PROCEDURE_PRIORITIES:
                broken.append(BAD_PRIORITY)
        if priority_type not in PRIORITY_TYPES:
            broken.append(BAD_PRIORITY_TYPE)
        if procedure:
            if code := opcs_code(procedure):
                procedure = code
            else:
                broken.append(BAD_PROCEDURE)
        consultant = consultant.upper()
        if consultant and not _CONSULTANT.fullmatch(consultant):
            broken.append(BAD_CONSULTANT)
        if len(local_id) > 10:
            broken.append(LONG_LOCAL_ID)
        if tci and is_date(tci) is None:
            broken.append(BAD_TCI)
        if outpatient and is_date(outpatient) is None:
            broken.append(BAD_OUTPATIENT)
        if validated and is_date(validated) is None:
            broken.append(BAD_VALIDATED)
        referrer = referrer.upper()
        if referrer and not _ORG.fullmatch(referrer):
            broken.append(BAD_REFERRER)
        if email and not valid_email(email):
            broken.append(BAD_EMAIL)
        if mobile:
            mobile = uk_mobile(mobile)
            if not mobile:
                broken.append(BAD_MOBILE)

        if broken:
            self.rows_rejected += 1
            self.rejections.extend(Rejection(line, *rule) for rule in broken)
            return None
        ranked_in = band(priority, priority_type)
        if len(self._valid_codes) < _MOST_CODES:
            key = (*values[:2], *values[5:7], *values[9:13])
            self._valid_codes[key] = (list_type, priority, ranked_in, procedure, consultant)
        return StagedRow(
            line, identifier, ascii_digits(number), birth_text, function, list_type, clock_text,
            priority, priority_type, ranked_in, procedure, consultant, local_id, tci or None,
            outpatient or None, validated or None, referrer, email, mobile,
        )  # fmt: skip

    def _check_one_provider_and_week(
        self, line: int, provider: str, week: date, week_text: str
    ) -> None:
        if self.provider_code is None:
            if week.weekday() != 6:
                raise ExtractRefused(
                    f"{WEEK} {week} (line {line}) is not a Sunday: a snapshot describes the "
                    "week ending on a Sunday"
                )
            self.provider_code, self.week_ending, self._week_text = provider, week, week_text
            if self.on_week_known:
                self.on_week_known(provider, week)
            return
        if provider != self.provider_code:
            raise ExtractRefused(
                f"the file holds more than one provider ({self.provider_code}, and {provider} "
                f"on line {line}): one file must be one trust's list"
            )
        if week != self.week_ending:
            raise ExtractRefused(
                f"the file holds more than one {WEEK} ({self.week_ending}, and {week} on line "
                f"{line}): one file must be one week's list"
            )

    def reject_repeats(self, repeats: list[tuple[int, int]]) -> None:
        """Rejects rows whose pathway identifier appeared on an earlier line: (line, first)."""
        for line, first in repeats:
            reason = f"appears more than once in the file (first on line {first})"
            self.rejections.append(Rejection(line, PATHWAY, reason))
        self.rows_rejected += len(repeats)

    def report_csv(self) -> str:
        """The rejected rows as CSV: line, column, reason, in line order."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["line", "column", "reason"])
        ordered = sorted(self.rejections, key=lambda r: r.line)
        writer.writerows((r.line, r.column, r.reason) for r in ordered)
        return out.getvalue()


@contextmanager
def _refusing_bad_text(reader, first_line: int) -> Iterator[None]:
    """Turns the text's own faults, met while reading, into a refusal naming the line."""
    try:
        yield
    except UnicodeDecodeError:
        raise ExtractRefused(
            f"the file is not UTF-8 text (a byte near line {first_line + reader.line_num + 1} "
            "is not UTF-8): save it as CSV UTF-8"
        ) from None
    except csv.Error as error:
        raise ExtractRefused(
            f"the file is not valid CSV (line {first_line + reader.line_num}: {error})"
        ) from None
