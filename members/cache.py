"""The register's version, and the statistics cached until the register changes.

Every cached value's key carries the register's version; `register_changed()`
— called by the save and delete signals below for every record of the
register, and by each bulk write that sends no signal — starts a new version,
so a cached figure is never older than the data it was computed from and
nothing has to find and delete individual keys. The version lives in the
configured cache. A shared cache (Redis through DJANGO_CACHE_URL) carries a
change made in one process to every other at once, and there the version and
the figures keep for a day. A per-process cache cannot hear of a change made
by another process, so there both expire after LOCAL_TIMEOUT: a figure may lag
a change made elsewhere by that long.

Figures are stored only "as of" a day many readers ask about (`is_kept_day`:
today, or the last day of a half-year): any other date is computed each time,
so that made-up dates cannot fill the cache. The figures and the version live
in the default cache, apart from readers' pages (settings.CACHES["pages"]),
so that no number of pages can push them out.

The statistics that are worth caching are named below, one by one
(`federation_figures`, `figures_for_federations`, `network`, `breakdown`,
`growth`, `admission_breach_count`); callers that want cached figures call them here, and everything
else in members/stats.py directly. Readers' pages are cached by
members/pagecache.py under the same version.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.apps import AppConfig
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.dispatch import receiver
from django.utils import timezone, translation

from members import stats
from members.models import Organisation
from members.rules import FIRST_DAY

VERSION_KEY = "members:register-version"
LOCAL_TIMEOUT = 60
SHARED_TIMEOUT = 24 * 60 * 60

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def timeout() -> int:
    """Seconds the version and cached values keep (see the module's docstring)."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    return LOCAL_TIMEOUT if isinstance(backend, LocMemCache | DummyCache) else SHARED_TIMEOUT


def version() -> tuple[int, float]:
    """Return the register's current version: (number, changed at as a UNIX time).

    When the cache cannot be reached, every call is a new version: nothing is
    read from the cache and no conditional GET matches, so pages are rendered
    from the database until the cache is back.
    """
    fresh = (time.time_ns(), time.time())
    try:
        value = cache.get(VERSION_KEY)
        if value is None:
            # Unknown (cache cleared or expired): start a new version now, so that
            # nothing cached under an older one is ever read again.
            value = fresh
            if not cache.add(VERSION_KEY, value, timeout=timeout()):
                value = cache.get(VERSION_KEY, value)
    except Exception:  # an unreachable cache must not take the site down
        logger.warning("Cache unavailable: the register's version is unknown", exc_info=True)
        return fresh
    return value


def register_changed() -> None:
    """Outdate every cached figure, page and ETag: the register has changed (or is changing).

    The version moves now, and again once the open transaction commits (at
    once outside one): a reader who rendered a page in between saw the data
    before the change, and what they stored under the first new version must
    not be served after the commit.
    """
    _new_version()
    transaction.on_commit(_new_version)


def _new_version() -> None:
    try:
        cache.set(VERSION_KEY, (time.time_ns(), time.time()), timeout=timeout())
    except Exception:
        # The change is saved; cached pages may show the register before it
        # until they expire (a day at most) or the next change reaches the cache.
        logger.error("Cache unavailable: cached figures and pages were not outdated", exc_info=True)


def get_or_compute(
    store: BaseCache,
    key: str,
    compute: Callable[[], R],
    *,
    what: str,
    keep: Callable[[R], bool] | None = None,
) -> R:
    """Return the value cached under the key, else compute it and store it (when `keep` allows).

    A cache that cannot be reached is passed by: the value is computed, as if
    nothing were cached, and the failure logged naming `what` was asked for.
    """
    try:
        value = store.get(key)
    except Exception:  # an unreachable or full cache must not take the site down
        logger.warning("Cache unavailable; computing %s", what, exc_info=True)
        return compute()
    if value is not None:
        return value
    value = compute()
    if keep is None or keep(value):
        try:
            store.set(key, value, timeout())
        except Exception:
            logger.warning("Cache unavailable; %s not stored", what, exc_info=True)
    return value


# The days of the year that close a half-year: the dates reports are made "as of".
HALF_YEAR_ENDS = frozenset({(6, 30), (12, 31)})


def is_kept_day(day: datetime.date) -> bool:
    """Whether figures and pages "as of" this day are stored: today, or a half-year's last day before it.

    A bounded set (two a year since FIRST_DAY), holding the dates readers share
    and reports use; any other date is computed for whoever asks.
    """
    today = timezone.localdate()
    return day == today or (FIRST_DAY <= day < today and (day.month, day.day) in HALF_YEAR_ENDS)


def cached(function: Callable[P, R]) -> Callable[P, R]:
    """Wrap a stats function so its result is cached per register version and arguments.

    Only for a day `is_kept_day` allows: figures for any other date are computed and not stored.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        days = [a for a in (*args, *kwargs.values()) if isinstance(a, datetime.date)]
        if not all(is_kept_day(day) for day in days):
            return function(*args, **kwargs)
        key = _key(function.__name__, args, kwargs)
        return get_or_compute(cache, key, lambda: function(*args, **kwargs), what=function.__name__)

    return wrapper


def _key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [str(version()[0]), name, translation.get_language() or ""]
    parts += [_token(a) for a in args]
    parts += [f"{k}={_token(v)}" for k, v in sorted(kwargs.items())]
    if "as_of" not in kwargs:
        # "As of" defaults to today: yesterday's figures must not be served today.
        parts.append(str(timezone.localdate()))
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()
    return f"members:figures:{digest}"


def _token(value: Any) -> str:
    if hasattr(value, "pk") and hasattr(value, "_meta"):
        return f"{value._meta.label}:{value.pk}"
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ",".join(sorted(_token(v) for v in value)) + "]"
    return repr(value)


# The statistics served from the cache: each takes seconds on a large network.
figures_for_federations = cached(stats.figures_for_federations)
federation_figures = cached(stats.federation_figures)
network = cached(stats.network)
breakdown = cached(stats.breakdown)
growth = cached(stats.growth)
# The admin home's count of admission-rule breaches today.
admission_breach_count = cached(stats.admission_breach_count)

# Records of the members app that are not the register: no figure or page depends on them.
NOT_THE_REGISTER = frozenset({"membershiprequest"})


@receiver(post_save)
@receiver(post_delete)
def _record_saved_or_deleted(sender: type[Model], **kwargs: Any) -> None:
    # Any record of the register, not the history rows django-simple-history writes.
    meta = sender._meta
    name = meta.model_name or ""
    if meta.app_label == "members" and not name.startswith("historical") and name not in NOT_THE_REGISTER:
        register_changed()


@receiver(m2m_changed, sender=Organisation.sectors.through)
def _sectors_changed(sender: type[Model], **kwargs: Any) -> None:
    register_changed()


@receiver(post_migrate)
def _released(sender: AppConfig, **kwargs: Any) -> None:
    # Each release runs migrate: pages cached by the previous release hold its
    # templates, translations and static file names, so none is served again.
    if sender.label == "members":
        register_changed()
