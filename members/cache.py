"""Federation figures and public pages cached until the register changes, and conditional GETs.

Every key carries the register's version; any save or delete of a record of
the register bumps it (signals below), so a cached figure is never older than
the data it was computed from, and nothing has to find and delete individual
keys. The version lives in the configured cache. A shared cache (Redis
through DJANGO_CACHE_URL) carries a change made in one process to every other
at once, and there the version and the figures keep for a day. A per-process
cache cannot hear of a change made by another process, so there both expire
after LOCAL_TIMEOUT: a page may lag a change made elsewhere by that long.

The same version, with the moment it last changed, answers conditional GETs:
public pages send an ETag and Last-Modified, and a client that already holds
the current page gets 304 without the page being rendered.
"""

import functools
import hashlib
import logging
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.dispatch import receiver
from django.utils import timezone, translation
from django.views.decorators.http import condition

from members.models import Organisation

VERSION_KEY = "members:register-version"
LOCAL_TIMEOUT = 60
SHARED_TIMEOUT = 24 * 60 * 60
# Readers' pages live in their own cache (settings.CACHES["pages"]), so that
# many different addresses can push out other pages but never the figures.
PAGES = "pages"
# With a read replica, a page rendered this soon after a change may come from
# a replica that has not caught up yet: it is served but not stored.
REPLICA_GRACE = 10

logger = logging.getLogger(__name__)


def _timeout():
    """Seconds the version and cached figures keep (see the module's docstring)."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    return LOCAL_TIMEOUT if isinstance(backend, LocMemCache | DummyCache) else SHARED_TIMEOUT


def version():
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
            if not cache.add(VERSION_KEY, value, timeout=_timeout()):
                value = cache.get(VERSION_KEY, value)
    except Exception:  # an unreachable cache must not take the site down
        logger.warning("Cache unavailable: the register's version is unknown", exc_info=True)
        return fresh
    return value


def invalidate():
    """Mark the register as changed: every cached figure and ETag is outdated."""
    try:
        cache.set(VERSION_KEY, (time.time_ns(), time.time()), timeout=_timeout())
    except Exception:
        # The change is saved; cached pages may show the register before it
        # until they expire (a day at most) or the next change reaches the cache.
        logger.error("Cache unavailable: cached figures and pages were not outdated", exc_info=True)


def cached(function):
    """Wrap a stats function so its result is cached per register version and arguments."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        key = _key(function.__name__, args, kwargs)
        try:
            result = cache.get(key)
        except Exception:
            logger.warning("Cache unavailable; computing %s", function.__name__, exc_info=True)
            return function(*args, **kwargs)
        if result is None:
            result = function(*args, **kwargs)
            try:
                cache.set(key, result, _timeout())
            except Exception:
                logger.warning("Cache unavailable; %s not stored", function.__name__, exc_info=True)
        return result

    wrapper.uncached = function
    return wrapper


def _key(name, args, kwargs):
    parts = [str(version()[0]), name, translation.get_language() or ""]
    parts += [_token(a) for a in args]
    parts += [f"{k}={_token(v)}" for k, v in sorted(kwargs.items())]
    if "as_of" not in kwargs:
        # "As of" defaults to today: yesterday's figures must not be served today.
        parts.append(str(timezone.localdate()))
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()
    return f"members:figures:{digest}"


def _token(value):
    if hasattr(value, "pk") and hasattr(value, "_meta"):
        return f"{value._meta.label}:{value.pk}"
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ",".join(sorted(_token(v) for v in value)) + "]"
    return repr(value)


def _etag(request, *args, **kwargs):
    number, _changed = version()
    parts = [
        str(number),
        request.get_full_path(),
        translation.get_language() or "",
        str(timezone.localdate()),
        # Signed-in staff may see links others do not; keep their pages apart.
        "staff" if getattr(request, "user", None) and request.user.is_authenticated else "public",
        # A page with a form carries a CSRF token tied to this cookie.
        request.COOKIES.get(settings.CSRF_COOKIE_NAME, ""),
    ]
    return hashlib.blake2b("|".join(parts).encode(), digest_size=12).hexdigest()


def _last_modified(request, *args, **kwargs):
    return datetime.fromtimestamp(int(version()[1]), tz=UTC)


# ETag and Last-Modified for public pages and feeds: one cache read, no SQL.
conditional = condition(etag_func=_etag, last_modified_func=_last_modified)


def cached_page(view, params=()):
    """Serve a public page to readers from the cache while the register is unchanged.

    Only a GET without a session cookie (a reader, not signed-in staff) is
    served or stored, and only a complete 200 response that sets no cookie
    and carries no CSRF token, so nothing personal is ever shared. `params`
    names the query parameters the page reads: an address with any other is
    rendered and not stored, so made-up parameters cannot fill the cache.
    The key holds the register's version, the site's address with those
    parameters in order, the language and today's date, like the figures'
    keys: a change anywhere in the register, a release (migrate), or a new
    day, and the page is rendered afresh. If the cache fails, the page is
    rendered as if nothing were cached.
    """
    params = frozenset(params)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if (
            request.method != "GET"
            # In development, a template just edited shows at once.
            or settings.DEBUG
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or not params.issuperset(request.GET.keys())
        ):
            return view(request, *args, **kwargs)
        pages = caches[PAGES]
        _forget_outdated_pages(pages)
        key = _page_key(request)
        try:
            response = pages.get(key)
        except Exception:  # an unreachable or full cache must not take the page down
            logger.warning("Page cache unavailable; rendering %s", request.path, exc_info=True)
            return view(request, *args, **kwargs)
        if response is not None:
            return response
        response = view(request, *args, **kwargs)
        if callable(getattr(response, "render", None)):
            response = response.render()  # a TemplateResponse pickles only once rendered
        if (
            response.status_code == 200
            and not response.streaming
            and not response.cookies
            # get_token() marks a page that holds a CSRF token.
            and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
            and not _replica_may_lag()
        ):
            try:
                pages.set(key, response, _timeout())
            except Exception:
                logger.warning("Page cache unavailable; %s not stored", request.path, exc_info=True)
        return response

    return wrapper


def public_page(view, params=()):
    """A public page: answered 304 when the reader holds it already, else served from the cache."""
    return conditional(cached_page(view, params))


def _page_key(request):
    query = sorted((name, value) for name in request.GET for value in request.GET.getlist(name))
    parts = [
        str(version()[0]),
        request.build_absolute_uri(request.path),
        repr(query),
        translation.get_language() or "",
        str(timezone.localdate()),
    ]
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()
    return f"members:page:{digest}"


_local_version = None


def _forget_outdated_pages(pages):
    # Local memory never reads pages of an older version again but keeps them
    # until culled: drop them as soon as this process sees a new version, so a
    # worker holds one version's pages only.
    global _local_version
    if isinstance(pages, LocMemCache):
        number = version()[0]
        if number != _local_version:
            pages.clear()
            _local_version = number


def _replica_may_lag():
    return "replica" in settings.DATABASES and time.time() - version()[1] < REPLICA_GRACE


class _CachedStats:
    """members.stats with its figure functions cached per register version; the rest passed through.

    Views import this in place of the module: `from members.cache import stats`.
    """

    CACHED = frozenset({"figures_for_federations", "federation_figures", "network", "breakdown", "growth"})

    def __getattr__(self, name):
        from members import stats as module

        attribute = getattr(module, name)
        return cached(attribute) if name in self.CACHED else attribute


stats = _CachedStats()


@receiver(post_save)
@receiver(post_delete)
def _register_changed(sender, **kwargs):
    # Any record of the register, not the history rows django-simple-history writes.
    if sender._meta.app_label == "members" and not sender._meta.model_name.startswith("historical"):
        _changed()


@receiver(m2m_changed, sender=Organisation.sectors.through)
def _sectors_changed(sender, **kwargs):
    _changed()


def _changed():
    # Now, and again once the transaction commits: a reader who rendered the
    # page in between saw the data before the change, and what they stored
    # under the first new version must not be served after the commit.
    invalidate()
    transaction.on_commit(invalidate)


@receiver(post_migrate)
def _released(sender, **kwargs):
    # Each release runs migrate: pages cached by the previous release hold its
    # templates, translations and static file names, so none is served again.
    if sender.label == "members":
        invalidate()
