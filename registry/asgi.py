"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from registry.startup import exit_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

with exit_on_configuration_error():
    application = get_asgi_application()
