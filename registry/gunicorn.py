"""gunicorn settings: `gunicorn -c registry/gunicorn.py registry.wsgi`.

Every value can be changed from the environment (see the README's table).
"""

import multiprocessing
from contextlib import AbstractContextManager, nullcontext

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

    # Synchronous workers, two per core plus one: the pages are short database reads,
    # so while one worker waits on the database another has the CPU, and both stay busy.
    workers = env_int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1, minimum=1)
    # A request still running after this many seconds is killed and logged; the
    # largest CSV export of the register takes well under it.
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
