"""A row whose codes an earlier valid row had is checked on a quicker path
(`ExtractReader._validate`): it must give exactly what checking every row whole gives."""

import random
from datetime import timedelta

from tests.extracts import WEEK, pathway, write_extract
from waitinglist import extract
from waitinglist.extract import ExtractReader, ExtractRefused

# Values for each column that the contract accepts (some only after tidying) or rejects.
VARIANTS = {
    "PATIENT_PATHWAY_IDENTIFIER": ["", " ", "X" * 20, "X" * 21, " P1 "],
    "NHS_NUMBER": ["12345", "999 000 0000", "9990000001", "abcdefghij", "\u0669" * 10],
    "PERSON_BIRTH_DATE": ["2099-01-01", "1960-02-30", "17/05/1960", "", "1960-5-17"],
    "ACTIVITY_TREATMENT_FUNCTION_CODE": ["999", " 110 ", "101", ""],
    "Waiting_List_Type": ["irtt", "XXXX", "ORTT", ""],
    "REFERRAL_TO_TREATMENT_PERIOD_START_DATE": [
        (WEEK + timedelta(days=1)).isoformat(), WEEK.isoformat(), "2026-13-01", "",
    ],
    "LOCAL_PATIENT_IDENTIFIER": ["H" * 10, "H" * 11, ""],
    "Procedure_Priority_Code": ["p1a", "P7", "P5", "P6", "", "P2"],
    "PRIORITY_TYPE_CODE": ["2", "3", "4", ""],
    "Proposed_Procedure_OPCS_Code": ["w371", "W37.1", "W3", "123", ""],
    "CONSULTANT_CODE": ["c1234567", "C123456789", "C-1", ""],
    "TCI_Date": ["2026-03-20", "2026-02-30", ""],
    "Outpatient_Future_Appointment_Date": ["2026-03-09", "soon", ""],
    "Last_PAS_Validation_Date": ["2026-01-10", "2026-1-10", ""],
    "ORGANISATION_IDENTIFIER_REFERRING_ORGANISATION": ["y90019", "Y9", "TOOLONG1", ""],
    "Patient_Email_Address": ["a@example.com", "not-an-email", "x@[127.0.0.1]", ""],
    "Patient_Mobile_Number": ["07700 900123", "+44 7700 900123", "020 7946 0000", "7700", ""],
}  # fmt: skip


def varied_rows(count: int, seed: int) -> list[dict]:
    """Rows sharing a few combinations of codes, most valid, some with one or more columns
    changed to another accepted, tidied or rejected value."""
    rng = random.Random(seed)
    rows = []
    for n in range(1, count + 1):
        row = pathway(f"Q{n}", CONSULTANT_CODE=rng.choice(["C1", "C2"]))
        for column in rng.sample(sorted(VARIANTS), k=rng.choice([0, 0, 0, 1, 1, 2])):
            row[column] = rng.choice(VARIANTS[column])
        rows.append(row)
    return rows


def outcome(path, monkeypatch, remember: int) -> dict:
    monkeypatch.setattr(extract, "_MOST_CODES", remember)
    reader = ExtractReader(path)
    try:
        rows = list(reader)
    except ExtractRefused as refusal:
        rows = str(refusal)
    return {"rows": rows, "rejections": reader.rejections, "rejected": reader.rows_rejected}


def test_rows_checked_on_the_quick_path_give_what_checking_them_whole_gives(tmp_path, monkeypatch):
    for seed in range(4):
        path = write_extract(tmp_path / f"week{seed}.csv", varied_rows(1500, seed))

        quick = outcome(path, monkeypatch, remember=100_000)
        whole = outcome(path, monkeypatch, remember=0)  # nothing remembered: every row whole

        assert quick == whole
        assert 1000 < len(quick["rows"]) < 1400 and quick["rejected"] > 100


def test_the_quick_path_is_taken(tmp_path, monkeypatch):
    # The test above would pass, trivially, were the quick path never taken.
    path = write_extract(tmp_path / "week.csv", [pathway(f"Q{n}") for n in range(1, 101)])
    judged = []
    judge = ExtractReader._judge

    def judging(self, line, values):
        judged.append(line)
        return judge(self, line, values)

    monkeypatch.setattr(ExtractReader, "_judge", judging)

    assert len(list(ExtractReader(path))) == 100
    assert judged == [2]  # the first row only
