"""The three staff roles as groups, and accent-insensitive admin search on PostgreSQL.

Groups carry Django's model permissions; the federation scope of editors
(which memberships and declarations they may touch) is applied on top by
members/permissions.py from the FederationEditor table.

The permissions of a model added later must be given to these groups by a
later migration.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

REGISTRY_ADMINISTRATORS = "Registry administrators"
FEDERATION_EDITORS = "Federation editors"
READ_ONLY_STAFF = "Read-only staff"

MEMBERS_MODELS = [
    "organisation",
    "membership",
    "declaredfigures",
    "source",
    "region",
    "countryregion",
    "sector",
    "admissionrule",
    "federationeditor",
    "historicalorganisation",
    "historicalmembership",
    "historicaldeclaredfigures",
]

ROLES = {
    # Everything in the register, staff accounts, and unlocking locked-out sign-ins.
    REGISTRY_ADMINISTRATORS: [
        *(
            f"members.{action}_{model}"
            for model in MEMBERS_MODELS
            for action in ("add", "change", "delete", "view")
        ),
        *(
            f"auth.{action}_{model}"
            for model in ("user", "group")
            for action in ("add", "change", "delete", "view")
        ),
        *(
            f"axes.{action}_{model}"
            for model in ("accessattempt", "accesslog", "accessfailurelog")
            for action in ("delete", "view")
        ),
    ],
    # Scoped to their federations by members/permissions.py.
    FEDERATION_EDITORS: [
        *(f"members.view_{model}" for model in MEMBERS_MODELS if model != "federationeditor"),
        *(f"members.{action}_membership" for action in ("add", "change", "delete")),
        *(f"members.{action}_declaredfigures" for action in ("add", "change", "delete")),
        "members.add_source",
    ],
    READ_ONLY_STAFF: [f"members.view_{model}" for model in MEMBERS_MODELS if model != "federationeditor"],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.add(*wanted)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


def create_unaccent(apps, schema_editor):
    # Only PostgreSQL has the extension; SQLite's admin search stays accent-sensitive.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0005_history_and_federation_editors"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [
        migrations.RunPython(create_roles, remove_roles),
        # The extension is left in place on reversal: other databases objects may use it.
        migrations.RunPython(create_unaccent, migrations.RunPython.noop, elidable=False),
    ]
