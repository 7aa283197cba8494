"""On PostgreSQL, tell the planner what the directory's folding really costs.

The directory folds names with TRANSLATE() over some 400 accented letters
(members.filters), about 65 µs a row, while the planner prices every built-in
function at one operator. Believing a sequential scan cheap, it ignored the
trigram indexes of migration 0007: a search took 0.7 s at 10,000 organisations
instead of 12 ms. Only the planner's estimate changes; results do not.

Changing a built-in function needs a superuser; without one the step is
skipped (the indexes still serve the directory's order).
"""

from django.db import migrations

SIGNATURE = "pg_catalog.translate(text, text, text)"


def _is_superuser(schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


def raise_cost(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql" and _is_superuser(schema_editor):
        schema_editor.execute(f"ALTER FUNCTION {SIGNATURE} COST 1000")


def restore_cost(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql" and _is_superuser(schema_editor):
        schema_editor.execute(f"ALTER FUNCTION {SIGNATURE} COST 1")


class Migration(migrations.Migration):
    dependencies = [("members", "0008_membership_counted_federation_index")]

    operations = [migrations.RunPython(raise_cost, restore_cost, elidable=False)]
