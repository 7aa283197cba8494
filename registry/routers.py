"""Database router for an optional read replica (active when DATABASE_REPLICA_URL is set)."""

from contextvars import ContextVar

from django.db import connections

# Set by registry.middleware.PrimaryDatabaseMiddleware for staff and write requests.
pinned_to_primary = ContextVar("pinned_to_primary", default=False)


class ReplicaRouter:
    """Reads go to the replica unless the request is pinned or a transaction is open."""

    def db_for_read(self, model, **hints):
        # Inside a transaction on the primary a read must see its own writes.
        if pinned_to_primary.get() or connections["default"].in_atomic_block:
            return "default"
        return "replica"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the same rows as the primary.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
