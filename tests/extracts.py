"""Builds small open-pathways extract files for tests."""

import csv
from datetime import date, timedelta
from pathlib import Path

import nhs_number

from waitinglist.extract import OPTIONAL, REQUIRED

HEADER = REQUIRED + OPTIONAL
WEEK = date(2026, 3, 1)  # a Sunday


def valid_nhs_number(n: int) -> str:
    """The n-th valid NHS number in the synthetic 999 range."""
    base = 999_000_000 + n * 7
    while (check := nhs_number.calculate_checksum(f"{base:09d}")) is None or check >= 10:
        base += 1
    return f"{base:09d}{check}"


def pathway(identifier: str, **fields) -> dict[str, str]:
    """One valid row, with any column overridden by its WLMDS name."""
    n = int("".join(c for c in identifier if c.isdigit()) or 0)
    row = {
        "Week_Ending_Date": WEEK.isoformat(),
        "ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER": "RXX",
        "PATIENT_PATHWAY_IDENTIFIER": identifier,
        "NHS_NUMBER": valid_nhs_number(n),
        "PERSON_BIRTH_DATE": "1960-05-17",
        "ACTIVITY_TREATMENT_FUNCTION_CODE": "110",
        "Waiting_List_Type": "IRTT",
        "REFERRAL_TO_TREATMENT_PERIOD_START_DATE": (WEEK - timedelta(weeks=10)).isoformat(),
        "Procedure_Priority_Code": "P4",
        "PRIORITY_TYPE_CODE": "1",
    }
    row.update(fields)
    return row


def write_extract(path: Path, rows: list[dict], header: list[str] = HEADER) -> Path:
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def week_of(rows: list[dict], week: date) -> list[dict]:
    """The same rows, dated another week."""
    return [{**row, "Week_Ending_Date": week.isoformat()} for row in rows]
