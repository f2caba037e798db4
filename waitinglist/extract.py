"""Reading a trust's open-pathways extract (shared/spec/waiting-list-extract.md).

`ExtractReader` streams the file once, row by row, so memory does not grow with its size. It
yields each valid row as a `StagedRow` tuple and keeps every rejected row as `Rejection`s
(line, column, reason). A file whose structure is wrong raises `ExtractRefused` with a one-line
reason. A pathway identifier repeated in the file is found afterwards, in the database
(`importer.py`), so the reader need not remember every identifier.

Reasons never echo an NHS number or a birth date.
"""

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

import nhs_number
import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

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
_OPCS = re.compile(r"([A-Z][0-9]{2})\.?([0-9]{1,2})?")
_CONSULTANT = re.compile(r"[A-Z0-9]{1,8}")
_PRIORITY_SPELLING = {code.upper(): code for code in PROCEDURE_PRIORITIES}


class ExtractRefused(Exception):
    """The file as a whole cannot be imported; the message says why in one line."""


@dataclass(frozen=True)
class Rejection:
    line: int
    column: str
    reason: str


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


class StagedRow(NamedTuple):
    """A valid row, in the column order of the import's staging table. Dates are the file's
    own text, already checked to be valid ISO dates."""

    line: int
    identifier: str
    nhs_number: str
    birth_date: str
    treatment_function: str
    list_type: str
    clock_start: str
    procedure_priority: str
    priority_type: str
    band: int | None
    procedure_code: str
    consultant_code: str
    local_patient_identifier: str
    tci_date: str | None
    outpatient_appointment_date: str | None
    last_validated: str | None
    referring_organisation: str
    email: str
    mobile: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _is_date(value: str) -> date | None:
    """The date, if the text is one in the form YYYY-MM-DD (no other ISO form, such as the
    ten-character week date 2026-W09-7, which date.fromisoformat would take)."""
    if not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


_MOBILE_FAST = re.compile(r"(?:\+44|0044|0)(7[0-9]{9})")


def _uk_mobile(value: str) -> str:
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


def _valid_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


class ExtractReader:
    """Streams one extract: iterate for valid rows; read the rest from its attributes."""

    def __init__(self, path: Path, today: date | None = None) -> None:
        self.path = Path(path)
        self.today = today or date.today()
        self.provider_code: str | None = None
        self.week_ending: date | None = None
        self.rows_read = 0
        self.rows_rejected = 0
        self.rejections: list[Rejection] = []
        self.on_week_known: Callable[[str, date], None] | None = None
        self._week_text: str | None = None

    def __iter__(self) -> Iterator[StagedRow]:
        with self.path.open("rb") as raw:
            if b"\x00" in raw.read(4096):
                raise ExtractRefused("the file is not a CSV file (it contains binary data)")
            raw.seek(0)
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
            reader = csv.reader(text)
            try:
                yield from self._rows(reader)
            except UnicodeDecodeError:
                raise ExtractRefused(
                    f"the file is not UTF-8 text (a byte near line {reader.line_num + 1} is not "
                    "UTF-8): save it as CSV UTF-8"
                ) from None
            except csv.Error as error:
                raise ExtractRefused(
                    f"the file is not valid CSV (line {reader.line_num}: {error})"
                ) from None

    def _rows(self, reader) -> Iterator[StagedRow]:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise ExtractRefused("the file is empty: it needs a header row and pathway rows")
        self._order = self._column_positions(header)
        width = len(header)
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line
            self.rows_read += 1
            if len(fields) != width:
                raise ExtractRefused(
                    f"line {reader.line_num} has {len(fields)} fields but the header has "
                    f"{width}: the file is not well-formed CSV"
                )
            problems: list[Rejection] = []
            row = self._validate(reader.line_num, fields, problems)
            if problems:
                self.rows_rejected += 1
                self.rejections.extend(problems)
            else:
                yield row

    def _column_positions(self, header: list[str]) -> list[int | None]:
        """Where each contract column is in this file (None for an absent optional one)."""
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
        return [by_name.get(column.lower()) for column in REQUIRED + OPTIONAL]

    def _validate(
        self, line: int, fields: list[str], problems: list[Rejection]
    ) -> StagedRow | None:
        """Checks one row against every rule; appends a Rejection for each broken one."""
        (
            week_text, provider, identifier, number, birth_text, function, list_type,
            clock_text, local_id, priority, priority_type, procedure, consultant, tci,
            outpatient, validated, referrer, email, mobile,
        ) = [fields[i].strip() if i is not None else "" for i in self._order]  # fmt: skip

        def bad(rule: Rule) -> None:
            problems.append(Rejection(line, *rule))

        provider = provider.upper()
        week = self.week_ending if week_text == self._week_text else _is_date(week_text)
        if week is None:
            bad(BAD_WEEK)
        if provider != self.provider_code and not _ODS.fullmatch(provider):
            bad(BAD_PROVIDER)
        elif week is not None and (provider != self.provider_code or week != self.week_ending):
            self._check_one_provider_and_week(line, provider, week, week_text)

        if not identifier:
            bad(BLANK_PATHWAY)
        elif len(identifier) > 20:
            bad(LONG_PATHWAY)

        number = number.replace(" ", "")
        if len(number) != 10 or not number.isdigit():
            bad(NHS_NOT_DIGITS)
        elif not nhs_number.is_valid(number):
            bad(NHS_CHECK_DIGIT)

        birth = _is_date(birth_text)
        if birth is None:
            bad(BAD_BIRTH)
        elif birth >= self.today:
            bad(FUTURE_BIRTH)
        if function not in TREATMENT_FUNCTIONS:
            bad(BAD_FUNCTION)
        list_type = list_type.upper()
        if list_type not in LIST_TYPES:
            bad(BAD_LIST_TYPE)
        clock_start = _is_date(clock_text)
        if clock_start is None:
            bad(BAD_CLOCK)
        elif week is not None and clock_start > week:
            bad(LATE_CLOCK)

        if priority:
            priority = _PRIORITY_SPELLING.get(priority.upper(), priority)
            if priority not in PROCEDURE_PRIORITIES:
                bad(BAD_PRIORITY)
        if priority_type not in PRIORITY_TYPES:
            bad(BAD_PRIORITY_TYPE)
        if procedure:
            match = _OPCS.fullmatch(procedure.upper())
            if match is None:
                bad(BAD_PROCEDURE)
            else:
                procedure = match[1] + (f".{match[2]}" if match[2] else "")
        consultant = consultant.upper()
        if consultant and not _CONSULTANT.fullmatch(consultant):
            bad(BAD_CONSULTANT)
        if len(local_id) > 10:
            bad(LONG_LOCAL_ID)
        dates = ((BAD_TCI, tci), (BAD_OUTPATIENT, outpatient), (BAD_VALIDATED, validated))
        for rule, text in dates:
            if text and _is_date(text) is None:
                bad(rule)
        referrer = referrer.upper()
        if referrer and not _ORG.fullmatch(referrer):
            bad(BAD_REFERRER)
        if email and not _valid_email(email):
            bad(BAD_EMAIL)
        if mobile:
            mobile = _uk_mobile(mobile)
            if not mobile:
                bad(BAD_MOBILE)

        if problems:
            return None
        return StagedRow(
            line, identifier, number, birth_text, function, list_type, clock_text, priority,
            priority_type, band(priority, priority_type), procedure, consultant, local_id,
            tci or None, outpatient or None, validated or None, referrer, email, mobile,
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
