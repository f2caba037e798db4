"""What reading an extract gives: each valid row as a `StagedRow`, each rule a row breaks as a
`Rejection`, and for a file that cannot be imported at all, `ExtractRefused`.

They are defined here, not with the reader in `extract.py` (which is where other code imports
them from), so that `extract_workers.py` can use them without importing the reader that
imports it.
"""

from dataclasses import dataclass
from typing import NamedTuple


class ExtractRefused(Exception):
    """The file as a whole cannot be imported; the message says why in one line."""


@dataclass(frozen=True)
class Rejection:
    line: int
    column: str
    reason: str


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
