"""CSV downloads from the staff pages, safe to open in a spreadsheet.

A cell that starts with =, +, -, @ (or a tab or carriage return) is read by Excel and
LibreOffice as a formula: text from an extract or a patient could then run in a member of
staff's spreadsheet (OWASP, "CSV Injection"). Such text gets a leading apostrophe, which
spreadsheets show as text; numbers are left as they are, since a number is never a formula.
"""

import csv
from collections.abc import Iterable
from datetime import date, datetime

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """The value as a CSV cell that no spreadsheet reads as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(filename: str, header: Iterable[str], rows: Iterable[Iterable]) -> HttpResponse:
    """An attachment download of the header and rows, every cell made safe."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return response
