"""The first import into empty tables builds their indexes after the rows, and loses none."""

from datetime import timedelta

import pytest
from django.db import connection

from tests.extracts import WEEK, pathway, week_of, write_extract
from tests.factories import ProviderFactory
from waitinglist import history
from waitinglist.importer import import_snapshot
from waitinglist.models import Pathway, PathwayWeek, Patient

TABLES = (history.PATIENT, history.PATHWAY, history.PATHWAY_WEEK)


def catalogue() -> dict[str, tuple]:
    """Each table's indexes and the constraints on it or pointing at it, as PostgreSQL
    defines them, with the index's object id (a new id means the index was built again)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT CAST(x.indrelid AS regclass)::text, i.relname, pg_get_indexdef(i.oid), i.oid
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = ANY (CAST(%s AS regclass[]))
            UNION ALL
            SELECT CAST(conrelid AS regclass)::text, conname, pg_get_constraintdef(oid), 0
            FROM pg_constraint
            WHERE conrelid = ANY (CAST(%s AS regclass[]))
                OR confrelid = ANY (CAST(%s AS regclass[]))
            """,
            [list(TABLES)] * 3,
        )
        return {f"{table}.{name}": (definition, oid) for table, name, definition, oid in cursor}


def definitions(found: dict[str, tuple]) -> dict[str, str]:
    return {name: definition for name, (definition, _) in found.items()}


def index_ids(found: dict[str, tuple]) -> set[int]:
    return {oid for _, oid in found.values() if oid}


def rows(prefix: str, ods: str = "RXX", n: int = 5) -> list[dict]:
    return [
        pathway(f"{prefix}{k}", ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER=ods)
        for k in range(1, n + 1)
    ]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_first_import_into_empty_tables_builds_the_same_indexes_and_keys_again(tmp_path, trust):
    before = catalogue()
    import_snapshot(write_extract(tmp_path / "first.csv", rows("A")))
    after = catalogue()
    assert definitions(after) == definitions(before)
    assert len(before) > 15  # indexes, keys and the foreign keys of other tables
    assert not index_ids(after) & index_ids(before), "every index was built again"
    assert Pathway.objects.count() == 5 and PathwayWeek.objects.count() == 5
    # The rebuilt unique keys still refuse a second pathway with the same identifier.
    copy = Pathway.objects.first()
    copy.pk = None
    with pytest.raises(Exception, match="one_pathway_per_provider_identifier"):
        copy.save()


@pytest.mark.postgres
@pytest.mark.django_db
def test_tables_with_rows_keep_their_indexes_in_place(tmp_path, trust):
    import_snapshot(write_extract(tmp_path / "first.csv", rows("A")))
    before = catalogue()
    # The next week, and another trust's first list: the tables already hold rows.
    import_snapshot(write_extract(tmp_path / "next.csv", week_of(rows("A"), WEEK + timedelta(7))))
    ProviderFactory(ods_code="RYY")
    import_snapshot(write_extract(tmp_path / "other.csv", rows("B", ods="RYY")))
    assert catalogue() == before
    assert Patient.objects.filter(provider__ods_code="RYY").count() == 5


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_failure_while_indexes_are_dropped_puts_every_one_back(tmp_path, trust, monkeypatch):
    before = catalogue()
    # Fails while the history has no index, after patients' and pathways' were built again.
    monkeypatch.setattr(history, "_RANK_AND_RECORD", "INSERT INTO no_such_table VALUES (1)")
    with pytest.raises(Exception, match="no_such_table"):
        import_snapshot(write_extract(tmp_path / "first.csv", rows("A")))
    assert catalogue() == before
    assert not Pathway.objects.exists() and not Patient.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_codes_the_import_sorts_are_compared_byte_by_byte():
    # Decision 0013: a later migration altering one of these columns must set it again.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name || '.' || column_name, collation_name
            FROM information_schema.columns
            WHERE (table_name, column_name) IN (('waitinglist_pathway', 'identifier'),
                ('waitinglist_pathway', 'referring_organisation'),
                ('waitinglist_patient', 'nhs_number'))
            """
        )
        assert dict(cursor.fetchall()) == {
            "waitinglist_pathway.identifier": "C",
            "waitinglist_pathway.referring_organisation": "C",
            "waitinglist_patient.nhs_number": "C",
        }
