"""The figures round's permissions for the three roles.

Registry administrators open, change and delete rounds and work on every
answer; federation editors open and run the rounds of their own federations
(members/permissions.py narrows them to those); read-only staff see them.
The groups' names are written out here, not imported: a migration must not
change when live code does.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Registry administrators": {
        "figuresround": ["add", "change", "delete", "view"],
        "roundanswer": ["change", "view"],
    },
    "Federation editors": {"figuresround": ["add", "change", "view"], "roundanswer": ["change", "view"]},
    "Read-only staff": {"figuresround": ["view"], "roundanswer": ["view"]},
}


def give_permissions(apps, schema_editor):
    database = schema_editor.connection.alias
    # Permissions are normally created after all migrations; make sure these exist now.
    app_config = apps.get_app_config("members")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=database)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, models in ROLES.items():
        codenames = [f"{action}_{model}" for model, actions in models.items() for action in actions]
        wanted = Permission.objects.using(database).filter(
            content_type__app_label="members", codename__in=codenames
        )
        for group in Group.objects.using(database).filter(name=name):
            group.permissions.add(*wanted)


def take_permissions(apps, schema_editor):
    database = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, models in ROLES.items():
        codenames = [f"{action}_{model}" for model, actions in models.items() for action in actions]
        unwanted = Permission.objects.using(database).filter(
            content_type__app_label="members", codename__in=codenames
        )
        for group in Group.objects.using(database).filter(name=name):
            group.permissions.remove(*unwanted)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0019_contacts_and_figures_rounds"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(give_permissions, take_permissions)]
