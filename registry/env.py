"""Small readers for settings taken from the environment.

Each one fails loudly with ImproperlyConfigured naming the variable and what it
accepts, so that a mistyped deployment stops at start-up with one clear line.
Every variable is read once, through one of these.
"""

import ipaddress
import os
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    """Return the variable's value; without a default it is required."""
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
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


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """Return an integer, at least `minimum` when one is given."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} is too small; use a whole number of at least {minimum}.")
    return value


def env_choice(name: str, default: str, choices: Sequence[str]) -> str:
    """Return one of `choices`, matched whatever the case and spelled as in `choices`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    by_key = {choice.casefold(): choice for choice in choices}
    try:
        return by_key[raw.strip().casefold()]
    except KeyError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not one of {', '.join(choices)}.") from None


def env_time_zone(name: str, default: str) -> str:
    """Return the name of a time zone of the IANA database, e.g. Europe/Brussels."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    try:
        zoneinfo.ZoneInfo(value)
    # Not found (ZoneInfoNotFoundError is a KeyError), not a valid key, not a zone file.
    except (KeyError, ValueError, OSError):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a time zone; use an IANA name such as Europe/Brussels or UTC."
        ) from None
    return value


def env_list(name: str, default: Iterable[str] = ()) -> list[str]:
    """Return a comma-separated list, blanks dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_origins(name: str) -> list[str]:
    """Return a comma-separated list of origins, each scheme://host[:port] (http or https)."""
    origins = env_list(name)
    for origin in origins:
        parts = urlsplit(origin)
        # Django compares an origin as a whole: a path or a missing scheme never matches.
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path or parts.query:
            raise ImproperlyConfigured(
                f"{name} holds {origin!r}; use comma-separated origins such as https://register.example.org."
            )
    return origins


def env_networks(name: str, default: Iterable[str]) -> list[str]:
    """Return a comma-separated list of IP addresses or networks (CIDR), or ["*"]."""
    networks = env_list(name, default)
    for network in networks:
        if network == "*":
            continue
        try:
            ipaddress.ip_network(network)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} holds {network!r}; use comma-separated IP addresses or networks "
                "(127.0.0.1, 10.0.0.0/8), or *."
            ) from None
    return networks


def env_proxies(name: str, count: int, *, count_name: str) -> list[str] | None:
    """Return the proxies' addresses (or their beginnings, "10.0.") as X-Forwarded-For lists
    them after the client's, one per proxy, or None when unset.

    django-ipware matches each entry as the beginning of the address at that place in the
    header, so there must be as many as `count` proxies, and no network notation.
    """
    entries = env_list(name)
    if not entries:
        return None
    for entry in entries:
        address = entry.rstrip(".:")
        try:
            if entry == address:
                ipaddress.ip_address(entry)
            elif not re.fullmatch(r"[0-9A-Fa-f.:]+", entry):
                raise ValueError(entry)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} holds {entry!r}; use IP addresses or their beginnings (10.0.0.2, 10.0.), "
                "comma-separated."
            ) from None
    if len(entries) != count:
        raise ImproperlyConfigured(
            f"{name} names {len(entries)} proxies but {count_name} is {count}; give one address per proxy."
        )
    return entries


def env_url_path(name: str, default: str) -> str:
    """Return a path below the site's root, e.g. "staff/", always ending with one slash."""
    raw = env_str(name, default)
    value = raw.strip().strip("/")
    if not re.fullmatch(r"[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*", value):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a path below the site's root, such as admin/.")
    return value + "/"


_TAGGING_ENTITY = re.compile(
    # RFC 4151's taggingEntity: a domain name (or an e-mail address) and a date the minter held it.
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+)"
    r",\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?"
)


def env_tagging_entity(name: str, default: str) -> str:
    """Return an RFC 4151 tagging entity, "example.org,2017": who mints `tag:` URIs, and since when."""
    value = env_str(name, default).strip()
    if not _TAGGING_ENTITY.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a tagging entity; use a domain name the register held and a date "
            "it held it, such as register.example.org,2017."
        )
    return value


def env_directory(name: str, default: str) -> str:
    """Return the path of an existing directory (the default is taken as it is)."""
    value = env_str(name, default)
    if value != default and not Path(value).is_dir():
        raise ImproperlyConfigured(f"{name}={value!r} is not an existing directory.")
    return value


def database_from_url(url: str, *, conn_max_age: int = 0, name: str = "DATABASE_URL") -> dict[str, Any]:
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
        config: dict[str, Any] = dict(
            dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
        )
    except Exception as exc:  # dj-database-url raises several types for malformed URLs
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if config["ENGINE"].endswith("postgresql"):
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"{name} names no database (postgres://user@host:5432/NAME).")
        # PostgreSQL's JIT compiler spends hundreds of milliseconds compiling the
        # statistics' recursive queries, more than it saves on queries of a web
        # request's size. It stays off unless the URL sets ?options= itself.
        config.setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    else:
        # Write-ahead logging: pages (an import job's status among them) are read while a task
        # worker writes (`make run` runs one beside the server); with SQLite's default rollback
        # journal a long write transaction locks readers out ("database is locked").
        config.setdefault("OPTIONS", {}).setdefault("init_command", "PRAGMA journal_mode=WAL;")
    return config


def env_pair(name: str) -> tuple[str, str] | None:
    """Return a (header, value) pair from "HTTP_HEADER,value", or None when unset."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    parts = [part.strip() for part in raw.split(",")]
    # The header as Django's request.META names it: "X-Forwarded-Proto" would never match.
    if len(parts) != 2 or not parts[1] or not re.fullmatch(r"HTTP_[A-Z0-9_]+", parts[0]):
        raise ImproperlyConfigured(
            f"{name}={raw!r} must be a header and a value, e.g. HTTP_X_FORWARDED_PROTO,https."
        )
    return parts[0], parts[1]


def cache_from_url(url: str, *, name: str = "DJANGO_CACHE_URL") -> dict[str, Any]:
    """Return a CACHES entry: Redis for redis:// or rediss://, local memory when empty."""
    if not url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured(f"{name} must start with redis:// or rediss:// (got {scheme or url!r}).")
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        # Short timeouts: a stalled Redis fails a request in a second instead of holding a worker.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }


def env_site_url(name: str, default: str) -> str:
    """Return the site's address as readers reach it, scheme://host[:port], without a trailing slash."""
    raw = env_str(name, default)
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.netloc
        or parts.path
        or parts.query
        or parts.fragment
    ):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not the site's address; use scheme://host, such as https://register.example.org."
        )
    return value


# Short names for Django's own e-mail backends; any other value is a dotted path to a backend class.
EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}


def env_email_backend(name: str, default: str) -> str:
    """Return an e-mail backend: smtp, console, locmem, dummy, or the dotted path of a backend class."""
    raw = env_str(name, default).strip()
    if raw.casefold() in EMAIL_BACKENDS:
        return EMAIL_BACKENDS[raw.casefold()]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+", raw):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not an e-mail backend; use smtp, console, locmem, dummy "
            "or the dotted path of a backend class."
        )
    return raw


def env_email(name: str, default: str) -> str:
    """Return an e-mail address, optionally with a display name: "Register <register@example.org>"."""
    from email.utils import parseaddr

    raw = env_str(name, default).strip()
    address = parseaddr(raw)[1]
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not an e-mail address; use one such as register@example.org "
            "or Register <register@example.org>."
        )
    return raw
