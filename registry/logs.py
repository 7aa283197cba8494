"""The log line: one JSON object, with the request id, for the application and gunicorn alike.

The middleware sets the request id per request; RequestIdFilter puts it in
every record (for gunicorn's access line, the id the response carries);
JsonFormatter writes the line, with an access line's fields as fields.
Both registry/settings.py's LOGGING and registry/gunicorn.py's logconfig_dict
use these, so every line of the server has the same shape.
"""

import logging
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from django.core.signals import request_finished
from django.dispatch import receiver
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

# A context variable rather than a thread-local: it is right under threads and asyncio alike.
current_request_id: ContextVar[str] = ContextVar("request_id", default="-")

ACCESS_LOGGER = "gunicorn.access"
# gunicorn's access atoms (its access_log_format's names) given as fields of the line.
ACCESS_FIELDS = {
    "remote_addr": "h",
    "method": "m",
    "path": "U",
    "query": "q",
    "status": "s",
    "bytes": "B",
    "duration_ms": "M",
    "user_agent": "a",
}


def _access_atoms(record: logging.LogRecord) -> Mapping[str, Any] | None:
    """The atoms of a gunicorn access line (its logging arguments), or None for any other record."""
    if record.name == ACCESS_LOGGER and isinstance(record.args, Mapping):
        return record.args
    return None


class RequestIdFilter(logging.Filter):
    """Add `request_id` to every record so that the JSON line carries it.

    An access line is written by gunicorn, after the application answered: its
    id is the one the response returned (X-Request-ID), "-" if none did.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = _access_atoms(record)
        record.request_id = (
            atoms.get("{x-request-id}o", "-") if atoms is not None else current_request_id.get()
        )
        return True


class AsClientError(logging.Filter):
    """Log a record at WARNING on one line, without its traceback, if the logger logs warnings.

    For a request refused for what the client sent (a Host header not in
    ALLOWED_HOSTS), which Django logs as an ERROR with the stack that raised it:
    nothing in the application failed, and the trace says nothing.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return logging.getLogger(record.name).isEnabledFor(record.levelno)


class JsonFormatter(BaseJsonFormatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, and any extra.

    A gunicorn access line also gets the request's and response's figures
    (method, path, status, bytes, duration…) as fields, rather than only in
    its message.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s %(request_id)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        # ISO 8601 in UTC, whatever DJANGO_TIME_ZONE says.
        kwargs.setdefault("timestamp", "time")
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        atoms = _access_atoms(record)
        if atoms is None:
            return
        for name, atom in ACCESS_FIELDS.items():
            value = atoms.get(atom)
            # gunicorn escapes quotation marks for its text format; JSON does its own escaping.
            log_data[name] = value.replace('\\"', '"') if isinstance(value, str) else value
        if str(log_data["status"]).isdigit():
            log_data["status"] = int(log_data["status"])


@receiver(request_finished, dispatch_uid="registry.logs.forget_request_id")
def forget_request_id(**kwargs: Any) -> None:
    """Lines logged between requests carry no stale id."""
    current_request_id.set("-")
