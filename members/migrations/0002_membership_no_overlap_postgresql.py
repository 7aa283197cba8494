"""On PostgreSQL, refuse overlapping periods of the same member/federation pair.

An exclusion constraint over daterange(joined_on, left_on, '[)') needs the
btree_gist extension for the equality parts. SQLite has no equivalent; there
Membership.clean() is the guard (it runs on every database).
"""

from django.db import migrations

CONSTRAINT = "members_membership_no_overlap"


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE members_membership ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        "(member_id WITH =, federation_id WITH =, daterange(joined_on, left_on, '[)') WITH &&)"
    )


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE members_membership DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("members", "0001_initial")]

    operations = [migrations.RunPython(add_constraint, drop_constraint, elidable=False)]
