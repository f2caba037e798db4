"""The weekly history keyed by snapshot, then pathway, with no second index (decision 0010).

Django does not change a composite primary key itself: on PostgreSQL the key is rebuilt by
SQL; SQLite cannot alter a key at all, so the table is remade (as Django's SQLite backend does
for any change it cannot make in place) with the columns migration 0001 gave it.
"""

from django.db import migrations, models

TABLE = "waitinglist_pathwayweek"


COLUMNS = (
    '"position" integer unsigned NULL CHECK ("position" >= 0), '
    '"band" smallint unsigned NULL CHECK ("band" >= 0), '
    '"pathway_id" integer NOT NULL, "snapshot_id" integer NOT NULL'
)


def key_by(columns: str, *, index: str | None):
    def rebuild(apps, schema_editor):
        run = schema_editor.execute
        if schema_editor.connection.vendor == "postgresql":
            run(f"ALTER TABLE {TABLE} DROP CONSTRAINT {TABLE}_pkey")
            run(f"ALTER TABLE {TABLE} ADD PRIMARY KEY ({columns})")
        else:
            run(f"CREATE TABLE new__{TABLE} ({COLUMNS}, PRIMARY KEY ({columns}))")
            run(
                f"INSERT INTO new__{TABLE} (position, band, pathway_id, snapshot_id) "
                f"SELECT position, band, pathway_id, snapshot_id FROM {TABLE}"
            )
            run(f"DROP TABLE {TABLE}")
            run(f"ALTER TABLE new__{TABLE} RENAME TO {TABLE}")
        if index:
            run(f"CREATE INDEX {index} ON {TABLE} (snapshot_id, pathway_id)")
        else:
            run("DROP INDEX IF EXISTS pathwayweek_by_snapshot")

    return rebuild


class Migration(migrations.Migration):
    dependencies = [
        ("waitinglist", "0007_pathway_updates_in_place"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="pathwayweek", name="pathwayweek_by_snapshot"),
                migrations.AlterField(
                    model_name="pathwayweek",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "snapshot_id",
                        "pathway_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
            ]
        ),
        migrations.RunPython(
            key_by("snapshot_id, pathway_id", index=None),
            key_by("pathway_id, snapshot_id", index="pathwayweek_by_snapshot"),
        ),
    ]
