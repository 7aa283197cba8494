"""Turn configuration and connection failures at start-up into one clear line."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured


@contextmanager
def exit_on_bad_environment() -> Iterator[None]:
    """Run the block; exit with one line when a setting from the environment is wrong."""
    try:
        yield
    except ImproperlyConfigured as exc:
        sys.exit(f"Configuration error: {exc}")


@contextmanager
def exit_on_configuration_error() -> Iterator[None]:
    """Load the settings, then run the block; exit with one line on a bad setup."""
    from django.conf import settings
    from django.db.utils import OperationalError

    with exit_on_bad_environment():
        try:
            settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load here
            yield
        except OperationalError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            sys.exit(f"Database error: {first_line} (check DATABASE_URL and that the server is running)")
