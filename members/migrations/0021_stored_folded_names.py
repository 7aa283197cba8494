"""Store the folded name and acronym, and index them for the directory.

The directory searched and sorted on LOWER(TRANSLATE(name, …)) computed at
query time, served by indexes on that exact expression (0007 in
0001_squashed_0011), which the planner only used once 0009 had made TRANSLATE()
look expensive for the whole database. Generated columns hold the same
folding (members.rules.Folded) on every write instead, so:

- the directory sorts on `name_folded` (a btree with the id, which lets page N's
  ids come from the index alone) and searches both columns through pg_trgm;
- the expression indexes of 0007 go, and pg_catalog.translate() gets back its
  default cost (1), which every other query of the database plans with.

Adding the columns fills them for every existing row (PostgreSQL rewrites the
table; SQLite rebuilds it). Changing a built-in function needs a superuser: without
one the cost is left as 0009 left it (or never set), which no longer matters here.
"""

import importlib

from django.db import migrations, models

import members.rules

squashed = importlib.import_module("members.migrations.0001_squashed_0011")

TRIGRAM_INDEXES = {
    # Directory search: name_folded LIKE '%needle%'.
    "members_org_folded_name_trgm": "name_folded",
    # Directory search: acronym_folded LIKE '%needle%'.
    "members_org_folded_acronym_trgm": "acronym_folded",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Present since 0007; IF NOT EXISTS asks no privilege of a user that cannot create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON members_organisation USING gin ({column} gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0020_contacts_adjusted"),
    ]

    operations = [
        # 0007's indexes on the expression the directory no longer computes.
        migrations.RunPython(code=squashed.drop_folded_indexes, reverse_code=squashed.create_folded_indexes),
        # Undo 0009: TRANSLATE() back to its default cost (reversed: raised again).
        migrations.RunPython(
            code=squashed.restore_translate_cost, reverse_code=squashed.raise_translate_cost
        ),
        migrations.AddField(
            model_name="organisation",
            name="acronym_folded",
            field=models.GeneratedField(
                db_persist=True, expression=members.rules.Folded("acronym"), output_field=models.TextField()
            ),
        ),
        migrations.AddField(
            model_name="organisation",
            name="name_folded",
            field=models.GeneratedField(
                db_persist=True, expression=members.rules.Folded("name"), output_field=models.TextField()
            ),
        ),
        migrations.AddIndex(
            model_name="organisation",
            index=models.Index(fields=["name_folded", "id"], name="members_org_folded_order_idx"),
        ),
        migrations.RunPython(code=create_trigram_indexes, reverse_code=drop_trigram_indexes),
    ]
