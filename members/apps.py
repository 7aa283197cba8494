from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


def _fold_on_sqlite(sender: Any, connection: Any, **kwargs: Any) -> None:
    # The generated folded names call members_fold on every write (members/rules.py).
    if connection.vendor == "sqlite":
        from members.rules import register_sqlite_fold

        register_sqlite_fold(connection.connection)


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Register")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        connection_created.connect(_fold_on_sqlite, dispatch_uid="members_fold_on_sqlite")
        # Connects the signals that outdate cached figures whenever the register changes.
        # Registers the deploy checks of the register's own settings.
        from members import (
            cache,  # noqa: F401
            checks,  # noqa: F401
        )
