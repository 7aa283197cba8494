"""Organisation.is_synthetic goes: a synthetic organisation is one resting on the synthetic source.

generate_synthetic (a development tool, tests/devtools/) already puts every
synthetic membership and declaration on that source. First every organisation
marked is_synthetic is put on it too (the source is created if it is missing),
then the column leaves the organisation and its history. Going back marks the
organisations resting on that source synthetic again.

The source's title is written out here, not imported: a migration must not
change when live code does.
"""

from django.db import migrations

SYNTHETIC_SOURCE_TITLE = "Synthetic register — not real data"
SYNTHETIC_SOURCE_NOTES = "Made up by the generate_synthetic command for benchmarks. Nothing in it is real."


def synthetic_organisations_rest_on_the_synthetic_source(apps, schema_editor):
    database = schema_editor.connection.alias
    Organisation = apps.get_model("members", "Organisation")
    Source = apps.get_model("members", "Source")
    synthetic = Organisation.objects.using(database).filter(is_synthetic=True)
    if not synthetic.exists():
        return
    sources = Source.objects.using(database).filter(title=SYNTHETIC_SOURCE_TITLE, published_on=None)
    source = sources.order_by("pk").first() or Source.objects.using(database).create(
        title=SYNTHETIC_SOURCE_TITLE, notes=SYNTHETIC_SOURCE_NOTES
    )
    synthetic.update(source=source)
    if schema_editor.connection.vendor == "postgresql":
        # Check the new foreign keys now: PostgreSQL refuses to ALTER a table with
        # deferred constraint checks pending, and the columns are dropped next.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def organisations_on_the_synthetic_source_are_synthetic(apps, schema_editor):
    Organisation = apps.get_model("members", "Organisation")
    Organisation.objects.using(schema_editor.connection.alias).filter(
        source__title=SYNTHETIC_SOURCE_TITLE, source__published_on=None
    ).update(is_synthetic=True)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0001_squashed_0011"),
    ]

    operations = [
        migrations.RunPython(
            synthetic_organisations_rest_on_the_synthetic_source,
            organisations_on_the_synthetic_source_are_synthetic,
        ),
        migrations.RemoveField(
            model_name="historicalorganisation",
            name="is_synthetic",
        ),
        migrations.RemoveField(
            model_name="organisation",
            name="is_synthetic",
        ),
    ]
