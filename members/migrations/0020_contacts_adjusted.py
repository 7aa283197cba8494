"""Contacts: the roles' permissions (migration 0019 created the models without them), and erasures kept.

An erasure's record outlives its organisation, should that be deleted later
(its organisation becomes empty): the register can still show that it erased
what it was asked to, and an organisation that once had a contact erased can
still be deleted.

Contacts are staff-only personal data. Registry administrators and
federation editors may add, change and erase them (editors only within
their federations, members/permissions.py), and see their history;
administrators alone see the list of erasures. Read-only staff get nothing:
they see no contact at all.

The groups' names are written out here, not imported: a migration must not
change when live code does.
"""

import django.db.models.deletion
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

ROLES = {
    "Registry administrators": [
        "add_contact",
        "change_contact",
        "delete_contact",
        "view_contact",
        "view_historicalcontact",
        "view_contacterasure",
    ],
    "Federation editors": [
        "add_contact",
        "change_contact",
        "delete_contact",
        "view_contact",
        "view_historicalcontact",
    ],
}
CODENAMES = sorted({codename for codenames in ROLES.values() for codename in codenames})


def give_permissions(apps, schema_editor):
    database = schema_editor.connection.alias
    # Permissions are normally created after all migrations; make sure these exist now.
    app_config = apps.get_app_config("members")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=database)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        wanted = Permission.objects.using(database).filter(
            content_type__app_label="members", codename__in=codenames
        )
        for group in Group.objects.using(database).filter(name=name):
            group.permissions.add(*wanted)


def take_permissions(apps, schema_editor):
    database = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Permission.objects.using(database).filter(
        content_type__app_label="members", codename__in=CODENAMES
    )
    for group in Group.objects.using(database).filter(name__in=ROLES):
        group.permissions.remove(*wanted)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0019_contacts_and_figures_rounds"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterField(
            model_name="contacterasure",
            name="organisation",
            field=models.ForeignKey(
                help_text="Empty once the organisation itself was deleted.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="members.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.RunPython(give_permissions, take_permissions),
    ]
