"""gunicorn settings: `gunicorn -c registry/gunicorn.py registry.wsgi`.

Every value can be changed from the environment (see the README's table).
"""

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from registry.env import env_directory, env_int, env_networks, env_str
from registry.startup import exit_on_bad_environment

# gunicorn runs this file as the module "__config__" and prints a traceback for any
# error in it; there a bad value stops it with one line instead. Imported (the tests),
# the file raises ImproperlyConfigured like the settings do.
reading: AbstractContextManager[None] = (
    exit_on_bad_environment() if __name__ == "__config__" else nullcontext()
)
with reading:
    bind = env_str("GUNICORN_BIND", "127.0.0.1:8000")

    # Worker processes, two per core plus one: the pages are short database reads, so
    # while one worker waits on the database another has the CPU, and both stay busy.
    workers = env_int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1, minimum=1)
    # Each with a pool of threads: a client reading a download slowly holds one thread
    # (waiting in sendfile(), without the CPU), not a whole worker, so a handful of slow
    # readers cannot leave the probes and the pages without a worker. A worker starts
    # threads only as concurrent requests need them; each that reads the database keeps
    # its own connection (see the README on connections). gunicorn's gthread worker, with
    # one mend (registry/workers.py): it never waits on a client's close on its main loop.
    worker_class = "registry.workers.ThreadWorker"
    threads = env_int("GUNICORN_THREADS", 8, minimum=1)
    # With threads, the arbiter kills a worker whose main loop has been silent this long
    # (a hung process), not one whose request is long. What the timeout bounds per
    # request is progress: a client that takes nothing of its response, or sends nothing
    # of its request, for this long is disconnected (post_worker_init below), while a
    # slow reader that keeps reading may take as long as it needs.
    timeout = env_int("GUNICORN_TIMEOUT", 30, minimum=0)
    graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30, minimum=0)
    # Keep-alive behind a load balancer that reuses its connections.
    keepalive = env_int("GUNICORN_KEEPALIVE", 5, minimum=0)
    # Recycling workers hides a memory leak instead of showing it; off unless asked for.
    max_requests = env_int("GUNICORN_MAX_REQUESTS", 0, minimum=0)
    max_requests_jitter = max_requests // 10

    # Only the proxy in front may say that the client spoke https (X-Forwarded-Proto).
    forwarded_allow_ips = ",".join(env_networks("GUNICORN_FORWARDED_ALLOW_IPS", ["127.0.0.1", "::1"]))
    # Heartbeat files in memory, not on a disk that may stall (containers).
    worker_tmp_dir = env_directory("GUNICORN_WORKER_TMP_DIR", "/dev/shm")  # noqa: S108 - gunicorn's own advice

# The largest piece of a response body given to one sendall(): Python's socket timeout
# bounds a whole sendall(), so pieces this small are what make it "no progress for
# `timeout` seconds" (16 KiB in 30 s is about half a kilobyte a second).
SEND_PIECE = 16 * 1024

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Pieces:
    """A response body handed to the server in pieces of at most SEND_PIECE bytes."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        for item in self.body:
            for start in range(0, len(item), SEND_PIECE):
                yield item[start : start + SEND_PIECE]

    def close(self) -> None:
        # The server closes the body it was given; the application's must close in turn
        # (Django's sends request_finished, which returns the database connection).
        close = getattr(self.body, "close", None)
        if close is not None:
            close()


def bounded_by_progress(app: WSGIApp, seconds: float) -> WSGIApp:
    """Wrap the application so that each request's socket waits at most `seconds` for the client."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        client = environ.get("gunicorn.socket")
        if client is not None:
            # Set again for each request: the worker resets it between requests of a connection.
            client.settimeout(seconds)
        body = app(environ, start_response)
        wrapper = environ.get("wsgi.file_wrapper")
        if wrapper is not None and isinstance(body, wrapper):
            # A file goes to sendfile(), which waits block by block: it stays as it is.
            return body
        return _Pieces(body)

    return application


def post_worker_init(worker: Any) -> None:
    """gunicorn hook: the worker serves the application through `bounded_by_progress`."""
    if worker.cfg.timeout:
        worker.wsgi = bounded_by_progress(worker.wsgi, worker.cfg.timeout)


# No gunicornc control socket: unused here, and two servers on one host would share its path.
control_socket_disable = True

# Access and error logs on standard error as JSON lines of the application's shape
# (registry/logs.py), so that one stream carries every log line of the server, in
# order. The request id is a field: an access line takes the one the response
# carries, an error line logged during a request that request's.
accesslog = "-"
errorlog = "-"
# The line's message, for a reader; the same figures are fields of the JSON line.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "registry.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "registry.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}
