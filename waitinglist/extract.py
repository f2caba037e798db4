"""Reading a trust's open-pathways extract (shared/spec/waiting-list-extract.md).

`ExtractReader` streams the file once, row by row, so memory does not grow with its size (but
for one entry per pathway identifier, to catch duplicates). It yields each valid row as a
`StagedRow` tuple and keeps every rejected row as `Rejection`s (line, column, reason). A file
whose structure is wrong raises `ExtractRefused` with a one-line reason.

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


class StagedRow(NamedTuple):
    """A valid row, in the column order of the import's staging table."""

    line: int
    identifier: str
    nhs_number: str
    birth_date: date
    treatment_function: str
    list_type: str
    clock_start: date
    procedure_priority: str
    priority_type: str
    band: int | None
    procedure_code: str
    consultant_code: str
    local_patient_identifier: str
    tci_date: date | None
    outpatient_appointment_date: date | None
    last_validated: date | None
    referring_organisation: str
    email: str
    mobile: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _is_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


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
        self._first_line_of: dict[str, int] = {}

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
        self.columns = self._column_positions(header)
        width = len(header)
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line
            self.rows_read += 1
            line = reader.line_num
            if len(fields) != width:
                reason = f"the row has {len(fields)} fields; the header has {width}"
                self._reject(line, [Rejection(line, "", reason)])
                continue
            problems: list[Rejection] = []
            row = self._validate(line, fields, problems)
            if problems:
                self._reject(line, problems)
            else:
                yield row

    def _column_positions(self, header: list[str]) -> dict[str, int]:
        positions: dict[str, int] = {}
        by_name = {}
        for index, name in enumerate(header):
            by_name.setdefault(name.strip().lower(), index)
        missing = []
        for column in REQUIRED + OPTIONAL:
            index = by_name.get(column.lower())
            if index is None and column in REQUIRED:
                missing.append(column)
            positions[column] = index
        if missing:
            if len(missing) == len(REQUIRED):
                raise ExtractRefused(
                    "the file is not an open-pathways extract: none of its columns are "
                    f"the required ones ({', '.join(REQUIRED)})"
                )
            raise ExtractRefused(f"missing required column(s): {', '.join(missing)}")
        return positions

    def _reject(self, line: int, problems: list[Rejection]) -> None:
        self.rows_rejected += 1
        self.rejections.extend(problems)

    def _get(self, fields: list[str], column: str) -> str:
        index = self.columns[column]
        return fields[index].strip() if index is not None else ""

    def _validate(self, line: int, fields: list[str], problems: list[Rejection]) -> StagedRow:
        get = self._get

        def bad(column: str, reason: str) -> None:
            problems.append(Rejection(line, column, reason))

        week = _is_date(get(fields, WEEK))
        if week is None:
            bad(WEEK, "is not a date in the form YYYY-MM-DD")
        provider = get(fields, PROVIDER).upper()
        if not _ODS.fullmatch(provider):
            bad(PROVIDER, "is not an ODS code of 3 to 5 letters or digits")
        if week is not None and _ODS.fullmatch(provider):
            self._check_one_provider_and_week(line, provider, week)

        identifier = get(fields, PATHWAY)
        if not identifier:
            bad(PATHWAY, "is blank")
        elif len(identifier) > 20:
            bad(PATHWAY, "is longer than 20 characters")
        elif (first := self._first_line_of.setdefault(identifier, line)) != line:
            bad(PATHWAY, f"appears more than once in the file (first on line {first})")

        number = get(fields, NHS_NUMBER).replace(" ", "")
        if len(number) != 10 or not number.isdigit():
            bad(NHS_NUMBER, "is not 10 digits")
        elif not nhs_number.is_valid(number):
            bad(NHS_NUMBER, "fails the NHS number check digit")

        birth = _is_date(get(fields, BIRTH_DATE))
        if birth is None:
            bad(BIRTH_DATE, "is not a date in the form YYYY-MM-DD")
        elif birth >= self.today:
            bad(BIRTH_DATE, "is not in the past")

        function = get(fields, TREATMENT_FUNCTION)
        if function not in TREATMENT_FUNCTIONS:
            bad(TREATMENT_FUNCTION, "is not a treatment function code in the NHS Data Dictionary")
        list_type = get(fields, LIST_TYPE).upper()
        if list_type not in LIST_TYPES:
            bad(LIST_TYPE, f"must be one of {', '.join(sorted(LIST_TYPES))}")

        clock_start = _is_date(get(fields, CLOCK_START))
        if clock_start is None:
            bad(CLOCK_START, "is not a date in the form YYYY-MM-DD")
        elif week is not None and clock_start > week:
            bad(CLOCK_START, "is after the week-ending date")

        priority = _PRIORITY_SPELLING.get(get(fields, PROCEDURE_PRIORITY).upper())
        if priority is None:
            if get(fields, PROCEDURE_PRIORITY):
                bad(PROCEDURE_PRIORITY, "must be P1a, P1b, P2, P3, P4, P5, P6 or blank")
            priority = ""
        priority_type = get(fields, PRIORITY_TYPE)
        if priority_type not in PRIORITY_TYPES:
            bad(PRIORITY_TYPE, "must be 1 (routine), 2 (urgent), 3 (two-week wait) or blank")
            priority_type = ""

        procedure = get(fields, PROCEDURE).upper()
        if procedure:
            match = _OPCS.fullmatch(procedure)
            if match is None:
                bad(PROCEDURE, "is not an OPCS-4 code such as W37.1")
            else:
                procedure = match[1] + (f".{match[2]}" if match[2] else "")
        consultant = get(fields, CONSULTANT).upper()
        if consultant and not _CONSULTANT.fullmatch(consultant):
            bad(CONSULTANT, "is not a consultant code of up to 8 letters or digits")
        local_id = get(fields, LOCAL_ID)
        if len(local_id) > 10:
            bad(LOCAL_ID, "is longer than 10 characters")
        tci = self._optional_date(fields, TCI, bad)
        outpatient = self._optional_date(fields, OUTPATIENT, bad)
        validated = self._optional_date(fields, VALIDATED, bad)
        referrer = get(fields, REFERRER).upper()
        if referrer and not _ORG.fullmatch(referrer):
            bad(REFERRER, "is not an ODS code of 3 to 6 letters or digits")
        email = get(fields, EMAIL)
        if email:
            try:
                validate_email(email)
            except ValidationError:
                bad(EMAIL, "is not an email address")
        mobile = self._mobile(get(fields, MOBILE), bad)

        if problems:
            return None
        return StagedRow(
            line, identifier, number, birth, function, list_type, clock_start, priority,
            priority_type, band(priority, priority_type), procedure, consultant, local_id, tci,
            outpatient, validated, referrer, email, mobile,
        )  # fmt: skip

    def _optional_date(self, fields, column, bad) -> date | None:
        value = self._get(fields, column)
        if not value:
            return None
        parsed = _is_date(value)
        if parsed is None:
            bad(column, "is not a date in the form YYYY-MM-DD")
        return parsed

    @staticmethod
    def _mobile(value: str, bad) -> str:
        """A UK mobile (07 and 9 more digits) in E.164 form. Ofcom's drama range counts."""
        if not value:
            return ""
        try:
            number = phonenumbers.parse(value, "GB")
        except phonenumbers.NumberParseException:
            number = None
        national = str(number.national_number) if number else ""
        if (
            number is None
            or number.country_code != 44
            or not (len(national) == 10 and national.startswith("7"))
        ):
            bad(MOBILE, "is not a UK mobile number")
            return ""
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def _check_one_provider_and_week(self, line: int, provider: str, week: date) -> None:
        if self.provider_code is None:
            if week.weekday() != 6:
                raise ExtractRefused(
                    f"{WEEK} {week} (line {line}) is not a Sunday: a snapshot describes the "
                    "week ending on a Sunday"
                )
            self.provider_code, self.week_ending = provider, week
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

    def report_csv(self) -> str:
        """The rejected rows as CSV: line, column, reason."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["line", "column", "reason"])
        writer.writerows((r.line, r.column, r.reason) for r in self.rejections)
        return out.getvalue()
