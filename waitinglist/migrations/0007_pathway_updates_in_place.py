"""Pathways updated in place by the weekly import (docs/decisions/0009).

Each week tens of thousands of pathways change a booked date or a validation date, and tens of
thousands leave. Leaving space on each page lets PostgreSQL rewrite a changed row where it is
without touching the table's indexes (a "HOT" update), but only if no index mentions a column
the update changes. So `left_snapshot` loses its own index (nothing looks pathways up by it)
and the practice index is no longer partial on open pathways.
"""

import django.db.models.deletion
from django.db import migrations, models

PATHWAY_FILLFACTOR = 80


def leave_room_on_each_page(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE waitinglist_pathway SET (fillfactor = {PATHWAY_FILLFACTOR})"
        )


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE waitinglist_pathway RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("waitinglist", "0006_import_keys_without_database_constraints"),
    ]

    operations = [
        migrations.AlterField(
            model_name="pathway",
            name="left_snapshot",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="waitinglist.snapshot",
            ),
        ),
        migrations.RemoveIndex(model_name="pathway", name="pathway_open_by_practice"),
        migrations.AddIndex(
            model_name="pathway",
            index=models.Index(
                fields=["provider", "referring_organisation", "clock_start", "id"],
                name="pathway_by_practice",
            ),
        ),
        migrations.RunPython(leave_room_on_each_page, fill_pages),
    ]
