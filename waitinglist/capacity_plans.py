"""Planned capacity changes from a CSV file: one `CapacityChange` a row.

The file is what `simulate_trust` writes beside its extracts (capacity-plans.csv), and what a
trust's analyst can write for the same purpose: a header `treatment_function, starts, percent,
known_from, note`, dates as YYYY-MM-DD. `import_waiting_list` takes it with the extracts, so that
a simulated trust's plans reach its estimates and back-test without anyone typing them in.
A file is checked whole before any plan is recorded (the command records them): values are
read here, and held to `CapacityChange`'s own rules (the limits of a change, of a note).
"""

import csv
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError

from waitinglist.models import CapacityChange
from waitinglist.simulation import PLAN_COLUMNS
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS


class PlansRefused(Exception):
    """The plans file is wrong; nothing was recorded. The message is one line."""


def header(path: Path) -> list[str]:
    """The file's first row, or nothing if it cannot be read as UTF-8 CSV."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return next(csv.reader(f), [])
    except (UnicodeDecodeError, csv.Error, OSError):
        return []


def is_plans_file(path: Path) -> bool:
    return header(path) == PLAN_COLUMNS


def read_plans(path: Path) -> list[dict]:
    """Every row of a plans file as `CapacityChange` fields; raises PlansRefused at the first
    bad value, naming its line and column."""
    plans = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            if None in row or None in row.values():
                raise PlansRefused(f"line {line}: needs {len(PLAN_COLUMNS)} columns, as the header")
            plans.append(_plan(row, line))
    return plans


def _plan(row: dict[str, str], line: int) -> dict:
    function = row["treatment_function"].strip()
    if function and function not in TREATMENT_FUNCTIONS:
        raise PlansRefused(
            f"line {line}, treatment_function: {function!r} is not a treatment function code "
            "(blank for every specialty)"
        )
    starts, known_from = _date(row, "starts", line), _date(row, "known_from", line)
    try:
        percent = int(row["percent"].strip().removesuffix("%"))
    except ValueError:
        raise PlansRefused(f"line {line}, percent: is not a whole number") from None
    plan = {
        "treatment_function": function,
        "starts": starts,
        "percent": percent,
        "known_from": known_from,
        "note": row["note"].strip(),
    }
    try:
        CapacityChange(**plan).full_clean(exclude=["provider", "recorded_by"])
    except ValidationError as error:
        column, [reason, *_] = next(iter(error.message_dict.items()))
        raise PlansRefused(f"line {line}, {column}: {reason}") from None
    return plan


def _date(row: dict[str, str], column: str, line: int) -> date:
    try:
        return date.fromisoformat(row[column].strip())
    except ValueError:
        raise PlansRefused(f"line {line}, {column}: is not a date in the form YYYY-MM-DD") from None
