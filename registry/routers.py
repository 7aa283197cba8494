"""Database router for an optional read replica (active when DATABASE_REPLICA_URL is set)."""

from contextvars import ContextVar
from typing import Any

from django.db import connections
from django.db.models import Model

# Set by registry.middleware.PrimaryDatabaseMiddleware for staff and write requests.
pinned_to_primary: ContextVar[bool] = ContextVar("pinned_to_primary", default=False)


class ReplicaRouter:
    """Reads go to the replica unless the request is pinned or a transaction is open."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        # Inside a transaction on the primary a read must see its own writes.
        if pinned_to_primary.get() or connections["default"].in_atomic_block:
            return "default"
        return "replica"

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        # The replica holds the same rows as the primary.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == "default"
