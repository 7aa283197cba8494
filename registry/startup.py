"""Turn configuration and connection failures at start-up into one clear line."""

import sys
from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured


@contextmanager
def exit_on_configuration_error():
    """Load the settings, then run the block; exit with one line on a bad setup."""
    from django.conf import settings
    from django.db.utils import OperationalError

    try:
        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load here
        yield
    except ImproperlyConfigured as exc:
        sys.exit(f"Configuration error: {exc}")
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        sys.exit(f"Database error: {first_line} (check DATABASE_URL and that the server is running)")
