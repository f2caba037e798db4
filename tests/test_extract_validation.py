"""Each rule of the extract contract rejects a bad row with line, column and reason."""

import pytest

from tests.extracts import pathway, write_extract
from waitinglist.importer import import_snapshot
from waitinglist.models import Pathway

BAD_VALUES = [
    ("Week_Ending_Date", "01/03/2026", "is not a date"),
    ("ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER", "R-X", "is not an ODS code"),
    ("PATIENT_PATHWAY_IDENTIFIER", "", "is blank"),
    ("PATIENT_PATHWAY_IDENTIFIER", "X" * 21, "longer than 20"),
    ("NHS_NUMBER", "12345", "is not 10 digits"),
    ("NHS_NUMBER", "9990000019", "check digit"),
    ("PERSON_BIRTH_DATE", "17/05/1960", "is not a date"),
    ("PERSON_BIRTH_DATE", "1960-W20-1", "is not a date"),  # ISO, but a week date
    ("PERSON_BIRTH_DATE", "2099-01-01", "is not in the past"),
    ("ACTIVITY_TREATMENT_FUNCTION_CODE", "11", "treatment function"),
    ("ACTIVITY_TREATMENT_FUNCTION_CODE", "999", "treatment function"),
    ("Waiting_List_Type", "XXXX", "must be one of"),
    ("REFERRAL_TO_TREATMENT_PERIOD_START_DATE", "2026-13-01", "is not a date"),
    ("REFERRAL_TO_TREATMENT_PERIOD_START_DATE", "2026-03-02", "after the week-ending date"),
    ("Procedure_Priority_Code", "P7", "must be P1a"),
    ("PRIORITY_TYPE_CODE", "4", "must be 1"),
    ("Proposed_Procedure_OPCS_Code", "hip", "OPCS-4"),
    ("CONSULTANT_CODE", "C-123", "consultant code"),
    ("TCI_Date", "next week", "is not a date"),
    ("Outpatient_Future_Appointment_Date", "2026-02-30", "is not a date"),
    ("Last_PAS_Validation_Date", "yesterday", "is not a date"),
    ("LOCAL_PATIENT_IDENTIFIER", "H" * 11, "longer than 10"),
    ("ORGANISATION_IDENTIFIER_REFERRING_ORGANISATION", "GP SURGERY", "ODS code"),
    ("Patient_Email_Address", "not-an-email", "email address"),
    ("Patient_Mobile_Number", "020 7946 0000", "UK mobile"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("column, value, reason", BAD_VALUES)
def test_a_bad_value_rejects_its_row_and_only_its_row(tmp_path, trust, column, value, reason):
    rows = [pathway(f"G{n}") for n in range(1, 5)]
    rows[2][column] = value
    path = write_extract(tmp_path / "week.csv", rows)
    result = import_snapshot(path)
    assert result.snapshot.rows_rejected == 1
    assert result.snapshot.pathways_imported == 3
    [rejection] = result.rejections
    assert (rejection.line, rejection.column) == (4, column)
    assert reason in rejection.reason
    assert "G3" not in set(Pathway.objects.values_list("identifier", flat=True))


@pytest.mark.django_db
def test_the_report_never_echoes_an_nhs_number_or_birth_date(tmp_path, trust):
    rows = [pathway(f"G{n}") for n in range(1, 5)]
    rows[0]["NHS_NUMBER"] = "9990000019"
    rows[1]["PERSON_BIRTH_DATE"] = "2099-12-31"
    result = import_snapshot(write_extract(tmp_path / "week.csv", rows))
    assert "9990000019" not in result.report_csv
    assert "2099-12-31" not in result.report_csv
    assert result.report_csv.splitlines()[0] == "line,column,reason"
    assert len(result.report_csv.splitlines()) == 3


@pytest.mark.django_db
def test_a_repeated_pathway_identifier_rejects_the_repeat(tmp_path, trust):
    rows = [pathway("G1"), pathway("G2"), pathway("G1"), pathway("G3")]
    result = import_snapshot(write_extract(tmp_path / "week.csv", rows))
    [rejection] = result.rejections
    assert rejection.line == 4
    assert "first on line 2" in rejection.reason


@pytest.mark.django_db
def test_values_are_tidied_as_the_contract_allows(tmp_path, trust):
    number = pathway("G1")["NHS_NUMBER"]
    row = pathway(
        "G1",
        NHS_NUMBER=f"{number[:3]} {number[3:6]} {number[6:]}",
        Procedure_Priority_Code="p1A",
        Waiting_List_Type="irtt",
        Proposed_Procedure_OPCS_Code="w371",
        Patient_Mobile_Number="07700 900123",
    )
    result = import_snapshot(write_extract(tmp_path / "week.csv", [row]))
    assert result.rejections == []
    imported = Pathway.objects.get(identifier="G1")
    assert imported.patient.nhs_number == pathway("G1")["NHS_NUMBER"]
    assert imported.procedure_priority == "P1a"
    assert imported.queue.list_type == "IRTT"
    assert imported.procedure_code == "W37.1"
    assert imported.mobile == "+447700900123"


@pytest.mark.django_db
def test_a_scottish_chi_number_keeps_its_leading_zero(tmp_path, trust):
    # CHI numbers start with the day of birth (DDMMYY): 01 here. New patients are numbered in
    # NHS number order.
    rows = [pathway("G1", NHS_NUMBER="0101701004"), pathway("G2")]
    result = import_snapshot(write_extract(tmp_path / "week.csv", rows))
    assert result.rejections == []
    chi, other = (Pathway.objects.get(identifier=i).patient for i in ("G1", "G2"))
    assert chi.nhs_number == "0101701004" and chi.pk < other.pk


@pytest.mark.django_db
def test_an_nhs_number_in_another_scripts_digits_is_stored_in_ascii_digits(tmp_path, trust):
    number = pathway("G1")["NHS_NUMBER"]
    arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in number)  # "٩٩٩..."
    result = import_snapshot(
        write_extract(tmp_path / "week.csv", [pathway("G1", NHS_NUMBER=arabic_indic)])
    )
    assert result.rejections == []
    assert Pathway.objects.get(identifier="G1").patient.nhs_number == number


@pytest.mark.django_db
def test_column_names_match_whatever_their_case_and_extra_columns_are_ignored(tmp_path, trust):
    rows = [{**pathway("G1"), "EXTRA_COLUMN": "x"}]
    header = [name.lower() for name in rows[0]]
    lowered = [{k.lower(): v for k, v in row.items()} for row in rows]
    path = write_extract(tmp_path / "week.csv", lowered, header=header)
    assert import_snapshot(path).snapshot.pathways_imported == 1


@pytest.mark.django_db
def test_free_text_with_backslashes_and_tabs_is_stored_exactly(tmp_path, trust):
    # COPY's text format gives these characters meaning: they must arrive unchanged.
    rows = [pathway("G\\1\t2", LOCAL_PATIENT_IDENTIFIER="H\\N")]
    import_snapshot(write_extract(tmp_path / "week.csv", rows))
    imported = Pathway.objects.get()
    assert (imported.identifier, imported.local_patient_identifier) == ("G\\1\t2", "H\\N")
