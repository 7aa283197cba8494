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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from django.apps import AppConfig
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_migrate
from django.dispatch import receiver
from django.utils import timezone, translation

from members import stats
from members.models import DeclaredFigures, Membership, Organisation
from members.rules import FIRST_DAY

VERSION_KEY = "members:register-version"
# The version at the last release (migrate): nothing cached before it is ever served again.
RELEASE_KEY = "members:release-version"
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


def register_changed(federations: Iterable[int] | None = None) -> None:
    """Outdate every cached figure, page and ETag: the register has changed (or is changing).

    The version moves now, and again once the open transaction commits (at
    once outside one): a reader who rendered a page in between saw the data
    before the change, and what they stored under the first new version must
    not be served after the commit. Once committed, the figures and pages of
    `federations` (the ids of the organisations whose members or figures
    changed; None: not known) are refreshed in the background (members/refresh.py).
    """
    _new_version()
    ids = None if federations is None else frozenset(federations)
    transaction.on_commit(functools.partial(_committed, ids))


def _committed(federations: frozenset[int] | None) -> None:
    _new_version()
    if _migrating:
        return  # a release: nothing cached before it is served again, so nothing to refresh
    from members import refresh  # it renders pages, which read this module

    refresh.schedule(federations)


# True while migrate runs (its data migrations save records too).
_migrating = False


@receiver(pre_migrate)
def _migration_starts(sender: AppConfig, **kwargs: Any) -> None:
    global _migrating
    _migrating = True


def _release_stamp() -> int:
    try:
        return int(cache.get(RELEASE_KEY, 0))
    except Exception:
        return 0


def _new_version() -> None:
    try:
        cache.set(VERSION_KEY, (time.time_ns(), time.time()), timeout=timeout())
    except Exception:
        # The change is saved; cached pages may show the register before it
        # until they expire (a day at most) or the next change reaches the cache.
        logger.error("Cache unavailable: cached figures and pages were not outdated", exc_info=True)


# --- Outdated entries and single flight ---------------------------------------
#
# A key holds the latest value computed for it, stamped with the register's
# version it was computed from: a change makes every entry outdated without
# deleting any. Beside each key, a lock taken with add() says who brings it up
# to date: QUEUED, a refresh asked of the task queue (members/refresh.py);
# COMPUTING, a process computing it now. Each lock expires, so a process or a
# worker that died holds nobody up for long.

QUEUED = "queued"
COMPUTING = "computing"
# How long one computation may hold its key: readers of a key never computed
# wait for it that long at most, then compute it themselves.
COMPUTE_TIMEOUT = 30
# How long a refresh asked of the task queue may take before a reader does it
# (the worker died, or the queue is that far behind). In local memory no
# worker can reach the process's entries: a reader recomputes after LOCAL_REFRESH_TIMEOUT.
REFRESH_TIMEOUT = 120
LOCAL_REFRESH_TIMEOUT = 5
WAIT_POLL = 0.05


@dataclass(frozen=True)
class Entry(Generic[R]):
    """A cached value, the register's version it was computed from and when."""

    value: R
    stamp: int
    computed_at: float


@dataclass
class Reading:
    """What a reader's page may be served from the cache, and what it was (members/pagecache.py).

    A reader's page may be made of outdated entries, served at once while one
    refresh per key runs; a refresh (`refreshing`) recomputes them instead.
    """

    refreshing: bool = False
    # The oldest outdated entry served while the page was made.
    oldest: Entry[Any] | None = None
    # An outdated entry was served that nobody was bringing up to date: the page asks for a refresh.
    wants_refresh: bool = False

    def served(self, entry: Entry[Any]) -> None:
        if self.oldest is None or entry.stamp < self.oldest.stamp:
            self.oldest = entry


_reading: ContextVar[Reading | None] = ContextVar("members_cache_reading", default=None)


@contextmanager
def reading(*, refreshing: bool = False) -> Iterator[Reading]:
    """Within this block, cached values are read for a reader's page (or a refresh of it)."""
    state = Reading(refreshing=refreshing)
    token = _reading.set(state)
    try:
        yield state
    finally:
        _reading.reset(token)


def is_shared(store: BaseCache) -> bool:
    """Whether the store is seen by every process (Redis), not one process's memory."""
    return not isinstance(store, LocMemCache | DummyCache)


def refresh_timeout(store: BaseCache) -> int:
    """Seconds a refresh asked for a key may take before a reader recomputes the key."""
    return REFRESH_TIMEOUT if is_shared(store) else LOCAL_REFRESH_TIMEOUT


def _lock_key(key: str) -> str:
    return key.replace("members:", "members:lock:", 1)


def _asked_key(key: str, stamp: int) -> str:
    return f"{key.replace('members:', 'members:asked:', 1)}:{stamp}"


def _takeover_key(key: str, stamp: int) -> str:
    """The key whose add() decides which reader takes a queued refresh over (one per version)."""
    return f"{key.replace('members:', 'members:takeover:', 1)}:{stamp}"


def fetch(
    store: BaseCache,
    key: str,
    compute: Callable[[], R],
    *,
    what: str,
    keep: Callable[[R], bool] | None = None,
) -> Entry[R]:
    """Return the entry cached under the key, computing it when it must be (see below).

    Up to date: returned. Outdated, for a reader's page (`reading()`): returned
    at once, and the first such reader asks for a refresh (`Reading.wants_refresh`);
    if one was asked under this version and nobody answered before the lock
    expired, that reader recomputes it. Never computed, outdated outside a
    reader's page (signed-in staff, the admin), or in a refresh: computed and
    stored (when `keep` allows), one process at a time per key, the others
    waiting for its value. A cache that cannot be reached is passed by: the
    value is computed, as if nothing were cached, and the failure logged naming `what`.
    """
    current = version()[0]
    state = _reading.get()
    try:
        entry = store.get(key)
    except Exception:  # an unreachable or full cache must not take the site down
        logger.warning("Cache unavailable; computing %s", what, exc_info=True)
        return Entry(compute(), current, time.time())
    locked = False
    if isinstance(entry, Entry) and entry.stamp != current and entry.stamp < _release_stamp():
        entry = None  # made by the previous release, with its templates and static files
    if isinstance(entry, Entry):
        if entry.stamp == current:
            return entry
        if state is not None and not state.refreshing:
            claim = _claim_outdated(store, key, current)
            if claim != "late":
                state.wants_refresh = state.wants_refresh or claim == "ask"
                state.served(entry)
                return entry
            locked = True
    return _compute_once(store, key, compute, current, state, what=what, keep=keep, locked=locked)


def _claim_outdated(store: BaseCache, key: str, current: int) -> str:
    """ "busy": someone brings the key up to date; "ask": ask for a refresh; "late": recompute it now."""
    lock = _lock_key(key)
    try:
        if not store.add(lock, QUEUED, timeout=refresh_timeout(store)):
            return "busy"
        if store.add(_asked_key(key, current), True, timeout=timeout()):
            return "ask"
        # Asked under this version already, and the lock expired unanswered.
        store.set(lock, COMPUTING, timeout=COMPUTE_TIMEOUT)
    except Exception:
        logger.warning("Cache unavailable; serving an outdated entry", exc_info=True)
        return "busy"
    return "late"


def _compute_once(
    store: BaseCache,
    key: str,
    compute: Callable[[], R],
    current: int,
    state: Reading | None,
    *,
    what: str,
    keep: Callable[[R], bool] | None,
    locked: bool,
) -> Entry[R]:
    lock = _lock_key(key)
    # Locked already: an outdated key nobody refreshed in time (see fetch).
    late = locked and state is not None and not state.refreshing
    deadline = time.monotonic() + COMPUTE_TIMEOUT
    stale_ok = state is not None and not state.refreshing
    try:
        while not locked:
            if store.add(lock, COMPUTING, timeout=COMPUTE_TIMEOUT):
                locked = True
                break
            entry = store.get(key)
            if isinstance(entry, Entry) and (entry.stamp == current or stale_ok):
                if state is not None and entry.stamp != current:
                    state.served(entry)  # stored meanwhile, made of outdated parts: a reader takes it
                return entry
            # A refresh asked of the queue (QUEUED) is taken over by whoever computes the key first.
            # Seeing QUEUED and setting COMPUTING are two steps: add() on a key of its own lets
            # exactly one of the readers who saw it queued take it over.
            if store.get(lock) == QUEUED and store.add(_takeover_key(key, current), True, COMPUTE_TIMEOUT):
                store.set(lock, COMPUTING, timeout=COMPUTE_TIMEOUT)
                locked = True
                break
            if time.monotonic() >= deadline:  # the holder is that slow: compute beside it
                break
            time.sleep(WAIT_POLL)
    except Exception:
        logger.warning("Cache unavailable; computing %s", what, exc_info=True)
        return Entry(compute(), current, time.time())
    before = state.oldest if state else None
    # A reader who recomputes an outdated key because nobody did brings its parts up to date too.
    if late and state is not None:
        state.refreshing = True
    try:
        value = compute()
    except BaseException:
        if locked:
            _release(store, lock, what)
        raise
    finally:
        if late and state is not None:
            state.refreshing = False
    stamp, computed_at = current, time.time()
    if state is not None and state.oldest is not None and state.oldest is not before:
        # Made of outdated entries: as old as the oldest of them, and outdated too.
        stamp, computed_at = state.oldest.stamp, state.oldest.computed_at
    entry = Entry(value, stamp, computed_at)
    try:
        if keep is None or keep(value):
            store.set(key, entry, timeout())
            if stamp != current and state is not None and state.wants_refresh:
                # The refresh this page asks for will bring it up to date: no other reader asks again.
                store.add(_asked_key(key, current), True, timeout=timeout())
                store.set(lock, QUEUED, timeout=refresh_timeout(store))
                return entry
        else:
            # An outdated entry that cannot be made again (the page is gone, or may not be
            # stored now) is served no longer.
            store.delete(key)
    except Exception:
        logger.warning("Cache unavailable; %s not stored", what, exc_info=True)
    if locked:
        _release(store, lock, what)
    return entry


def _release(store: BaseCache, lock: str, what: str) -> None:
    try:
        store.delete(lock)
    except Exception:  # it expires
        logger.warning("Cache unavailable; the lock on %s stays until it expires", what, exc_info=True)


def forget_all() -> None:
    """Drop every cached figure and page, and start a new version: the next readers compute them.

    For a cold start (the bench's "uncached" rows); a change of the register
    only outdates entries, which readers are served until they are refreshed.
    """
    for alias in (DEFAULT_CACHE_ALIAS, "pages"):
        caches[alias].clear()
    _new_version()


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
        return fetch(cache, key, lambda: function(*args, **kwargs), what=function.__name__).value

    return wrapper


def _key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    # No version in the key: a change outdates the entry, which readers are served until it is refreshed.
    parts = [name, translation.get_language() or ""]
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
NOT_THE_REGISTER = frozenset({"membershiprequest", "importjob", "importmapping"})


@receiver(post_save)
@receiver(post_delete)
def _record_saved_or_deleted(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    # Any record of the register, not the history rows django-simple-history writes.
    meta = sender._meta
    name = meta.model_name or ""
    if meta.app_label == "members" and not name.startswith("historical") and name not in NOT_THE_REGISTER:
        register_changed(_federations_touched(instance))


def _federations_touched(instance: Model) -> list[int] | None:
    """The organisations whose pages and figures a saved record changes (those above them follow)."""
    if isinstance(instance, Membership):
        return [instance.federation_id]
    if isinstance(instance, DeclaredFigures):
        return [instance.organisation_id]
    if isinstance(instance, Organisation):
        # Its own page; the task finds the federations it belongs to (no query in the save).
        return [instance.pk]
    return None


@receiver(m2m_changed, sender=Organisation.sectors.through)
def _sectors_changed(sender: type[Model], **kwargs: Any) -> None:
    register_changed()


@receiver(post_migrate)
def _released(sender: AppConfig, **kwargs: Any) -> None:
    # Each release runs migrate: pages cached by the previous release hold its
    # templates, translations and static file names, so none is served again.
    global _migrating
    if sender.label == "members":
        _migrating = False
        _new_version()  # not register_changed(): nothing made before a release is refreshed
        try:
            # Kept until the next release (no timeout): outdated entries older than it are never served.
            cache.set(RELEASE_KEY, version()[0], timeout=None)
        except Exception:
            logger.error("Cache unavailable: pages of the previous release may be served", exc_info=True)
