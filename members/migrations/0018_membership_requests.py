"""Membership requests: what a federation editor asks the secretariat to add, and the roles' permissions.

A CECOP editor who finds that a new CECOP member is not a CICOPA member may
not add the CICOPA membership (members/permissions.py); the request records
it for the registry administrators instead. Editors may ask and see their
requests, read-only staff see them, administrators handle them.

The groups' names are written out here, not imported: a migration must not
change when live code does.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

ROLES = {
    "Registry administrators": ["add", "change", "delete", "view"],
    "Federation editors": ["add", "view"],
    "Read-only staff": ["view"],
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
    for name, actions in ROLES.items():
        wanted = Permission.objects.using(database).filter(
            content_type__app_label="members",
            codename__in=[f"{action}_membershiprequest" for action in actions],
        )
        for group in Group.objects.using(database).filter(name=name):
            group.permissions.add(*wanted)


def take_permissions(apps, schema_editor):
    database = schema_editor.connection.alias
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.using(database).filter(
        content_type__app_label="members", codename__endswith="_membershiprequest"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0017_import_jobs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="MembershipRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "category",
                    models.CharField(
                        choices=[
                            ("full", "Full member"),
                            ("associate", "Associate member"),
                            ("observer", "Observer"),
                            ("regional", "Regional organisation"),
                        ],
                        default="full",
                        max_length=20,
                        verbose_name="category",
                    ),
                ),
                ("joined_on", models.DateField(verbose_name="joined on")),
                (
                    "joined_precision",
                    models.CharField(
                        choices=[
                            ("day", "Exact day"),
                            ("month", "Known to the month"),
                            ("half", "Known to the half-year"),
                            ("year", "Known to the year"),
                            ("by", "Attested by a source on this date (start not known)"),
                        ],
                        default="day",
                        max_length=10,
                        verbose_name="joined: precision",
                    ),
                ),
                (
                    "note",
                    models.TextField(
                        blank=True,
                        help_text="What the secretariat should know: the rule, the source.",
                        verbose_name="why",
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Open"), ("done", "Done"), ("declined", "Declined")],
                        default="open",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "federation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="members.organisation",
                        verbose_name="federation",
                    ),
                ),
                (
                    "handled_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="handled by",
                    ),
                ),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="members.organisation",
                        verbose_name="member",
                    ),
                ),
                (
                    "membership",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="members.membership",
                        verbose_name="membership added",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="membership_requests",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="asked by",
                    ),
                ),
            ],
            options={
                "verbose_name": "membership request",
                "verbose_name_plural": "membership requests",
                "ordering": ["-created_at"],
                "indexes": [models.Index(fields=["status", "-created_at"], name="members_mreq_status_idx")],
            },
        ),
        migrations.RunPython(give_permissions, take_permissions),
    ]
