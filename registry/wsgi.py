"""WSGI entry point (gunicorn registry.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from registry.startup import exit_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

with exit_on_configuration_error():
    application = get_wsgi_application()
