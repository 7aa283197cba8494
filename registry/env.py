"""Small readers for settings taken from the environment.

Each one fails loudly with ImproperlyConfigured naming the variable and what it
accepts, so that a mistyped deployment stops at start-up with one clear line.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=None):
    """Return the variable's value; without a default it is required."""
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set.")
        return default
    return value


def env_bool(name, default=False):
    """Return True or False from 1/0, true/false, yes/no, on/off."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(name, default):
    """Return an integer; a value that is not one is an error."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_list(name, default=()):
    """Return a comma-separated list, blanks dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url, *, conn_max_age=0, name="DATABASE_URL"):
    """Return a DATABASES entry for a postgres:// or sqlite:// URL.

    Only the two databases the register is tested on are accepted.
    """
    import dj_database_url

    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"{name} must start with postgres:// or sqlite:// (got {scheme or url!r})."
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
    except Exception as exc:  # dj-database-url raises several types for malformed URLs
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if config["ENGINE"].endswith("postgresql"):
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"{name} names no database (postgres://user@host:5432/NAME).")
        # PostgreSQL's JIT compiler spends hundreds of milliseconds compiling the
        # statistics' recursive queries, more than it saves on queries of a web
        # request's size. It stays off unless the URL sets ?options= itself.
        config.setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    return config


def env_pair(name):
    """Return a (header, value) pair from "HEADER,value", or None when unset."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) != 2 or not all(parts):
        raise ImproperlyConfigured(
            f"{name}={raw!r} must be a header and a value, e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    return tuple(parts)


def cache_from_url(url):
    """Return a CACHES entry: Redis for redis:// or rediss://, local memory when empty."""
    if not url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured(
            f"DJANGO_CACHE_URL must start with redis:// or rediss:// (got {scheme or url!r})."
        )
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        # Short timeouts: a stalled Redis fails a request in a second instead of holding a worker.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
