"""Load the register as a production server does: every module, then the deploy checklist.

`make prod-check` runs this in a throwaway virtualenv holding requirements.txt
only; tests/test_production_install.py runs it with every package that only
requirements-dev.txt brings refused. Run from the project's root:
`python -m tests.devtools.prod_check`.
"""

import importlib
import os
import pkgutil
import sys
import warnings

PACKAGES = ("members", "registry")


def import_every_module(packages=PACKAGES):
    """Import each package and every module below it (migrations included); return their names."""

    def fail(name):
        raise ImportError(f"cannot import {name}")

    names = []
    for package_name in packages:
        package = importlib.import_module(package_name)
        names.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}.", onerror=fail):
            importlib.import_module(info.name)
            names.append(info.name)
    return names


def main():
    # What gunicorn loads (registry/wsgi.py), never the development settings.
    os.environ["DJANGO_SETTINGS_MODULE"] = "registry.settings"
    import django
    from django.conf import settings
    from django.core.management import call_command

    # collectstatic has not run here; whitenoise says so when registry.wsgi is imported.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    django.setup()
    if settings.DEBUG:
        sys.exit("prod_check: DJANGO_DEBUG is on; the production check runs with debug off.")
    names = import_every_module()
    call_command("check", deploy=True, fail_level="WARNING")
    print(f"prod_check: imported {len(names)} modules of {', '.join(PACKAGES)}; check --deploy passed.")


if __name__ == "__main__":
    main()
