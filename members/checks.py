"""System checks of the register's own settings (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

QUEUED_BACKENDS = {"django_tasks_db.DatabaseBackend", "django_tasks_db.backend.DatabaseBackend"}


@checks.register(checks.Tags.compatibility, deploy=True)
def tasks_run_in_workers(**kwargs: Any) -> list[checks.CheckMessage]:
    """Production queues its tasks for `db_worker`: a confirmed import must never run in the request."""
    backend = settings.TASKS.get("default", {}).get("BACKEND", "")
    if backend in QUEUED_BACKENDS:
        return []
    return [
        checks.Warning(
            f"The task backend is {backend}: confirmed imports would run inside the web request "
            "and a large file would outlast the server's timeout.",
            hint="Set DJANGO_TASKS_BACKEND=database (the default) and run `manage.py db_worker` processes.",
            id="members.W001",
        )
    ]
