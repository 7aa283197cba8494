"""Request ids for log records: set per request by the middleware, read by a filter."""

import logging
from contextvars import ContextVar
from typing import Any

from django.core.signals import request_finished
from django.dispatch import receiver

# A context variable rather than a thread-local: it is right under threads and asyncio alike.
current_request_id: ContextVar[str] = ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    """Add `request_id` to every record so that the JSON line carries it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


@receiver(request_finished, dispatch_uid="registry.logs.forget_request_id")
def forget_request_id(**kwargs: Any) -> None:
    """Lines logged between requests carry no stale id."""
    current_request_id.set("-")
