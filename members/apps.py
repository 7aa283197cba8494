from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Register")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the signals that outdate cached figures whenever the register changes.
        # Registers the deploy checks of the register's own settings.
        from members import (
            cache,  # noqa: F401
            checks,  # noqa: F401
        )
