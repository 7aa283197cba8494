"""Federation editors no longer delete memberships: they end them, and only administrators delete.

An editor who could delete a membership could take an organisation out of
another federation's reach and make its declared figures theirs; ending a
membership keeps it in the history, the figures for past dates and the
editors' scope (members/permissions.py). The first gate, the group's model
permission, goes; the second, members/permissions.py, refuses it whatever the
group holds. The help text of the editor's row says what the role may do.

The group's name is written out here, not imported: a migration must not
change when live code does.
"""

import django.db.models.deletion
from django.db import migrations, models

FEDERATION_EDITORS = "Federation editors"


def editors_may_not_delete_memberships(apps, schema_editor):
    _permission_of_editors(apps, schema_editor, give=False)


def editors_may_delete_memberships(apps, schema_editor):
    _permission_of_editors(apps, schema_editor, give=True)


def _permission_of_editors(apps, schema_editor, *, give):
    database = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = (
        Permission.objects.using(database)
        .filter(content_type__app_label="members", codename="delete_membership")
        .first()
    )
    if permission is None:  # a database whose permissions were never created
        return
    for group in Group.objects.using(database).filter(name=FEDERATION_EDITORS):
        if give:
            group.permissions.add(permission)
        else:
            group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0012_synthetic_organisations_rest_on_their_source"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AlterField(
            model_name="federationeditor",
            name="federation",
            field=models.ForeignKey(
                help_text=(
                    "The editor may add, change and end this federation's memberships, and edit the "
                    "declared figures of the federation and of the organisations that belong, now or "
                    "in the past, to no federation but those they edit."
                ),
                on_delete=django.db.models.deletion.CASCADE,
                related_name="editors",
                to="members.organisation",
                verbose_name="federation",
            ),
        ),
        migrations.RunPython(editors_may_not_delete_memberships, editors_may_delete_memberships),
    ]
