"""gunicorn settings: `gunicorn -c registry/gunicorn.py registry.wsgi`.

Every value can be changed from the environment (see the README's table).
"""

import multiprocessing

from registry.env import env_int, env_list, env_str

bind = env_str("GUNICORN_BIND", "127.0.0.1:8000")

# Synchronous workers: the pages are short database reads, so a worker per core
# and a half keeps both the CPU and the database busy without queueing.
workers = env_int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
# A request still running after this many seconds is killed and logged; the
# largest CSV export of the register takes well under it.
timeout = env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Keep-alive behind a load balancer that reuses its connections.
keepalive = env_int("GUNICORN_KEEPALIVE", 5)
# Recycling workers hides a memory leak instead of showing it; off unless asked for.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10

# Only the proxy in front may say that the client spoke https (X-Forwarded-Proto).
forwarded_allow_ips = ",".join(env_list("GUNICORN_FORWARDED_ALLOW_IPS", ["127.0.0.1", "::1"]))
# No gunicornc control socket: unused here, and two servers on one host would share its path.
control_socket_disable = True
# Heartbeat files in memory, not on a disk that may stall (containers).
worker_tmp_dir = env_str("GUNICORN_WORKER_TMP_DIR", "/dev/shm")  # noqa: S108 - gunicorn's own advice

# Access and error logs on stdout as JSON lines, like the application's own.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        }
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}
    },
    "root": {"handlers": ["stdout"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}
