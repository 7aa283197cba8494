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
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone, translation
from django.views.decorators.http import condition

from members.models import Organisation

VERSION_KEY = "members:register-version"
LOCAL_TIMEOUT = 60
SHARED_TIMEOUT = 24 * 60 * 60


def _timeout():
    """Seconds the version and cached figures keep (see the module's docstring)."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    return LOCAL_TIMEOUT if isinstance(backend, LocMemCache | DummyCache) else SHARED_TIMEOUT


def version():
    """Return the register's current version: (number, changed at as a UNIX time)."""
    value = cache.get(VERSION_KEY)
    if value is None:
        # Unknown (cache cleared or expired): start a new version now, so that
        # nothing cached under an older one is ever read again.
        value = (time.time_ns(), time.time())
        if not cache.add(VERSION_KEY, value, timeout=_timeout()):
            value = cache.get(VERSION_KEY, value)
    return value


def invalidate():
    """Mark the register as changed: every cached figure and ETag is outdated."""
    cache.set(VERSION_KEY, (time.time_ns(), time.time()), timeout=_timeout())


def cached(function):
    """Wrap a stats function so its result is cached per register version and arguments."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        key = _key(function.__name__, args, kwargs)
        result = cache.get(key)
        if result is None:
            result = function(*args, **kwargs)
            cache.set(key, result, _timeout())
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


def cached_page(view):
    """Serve a public page to readers from the cache while the register is unchanged.

    Only a GET without a session cookie (a reader, not signed-in staff) is
    served or stored, and only a complete 200 response that sets no cookie
    and carries no CSRF token, so nothing personal is ever shared. The key
    holds the register's version, the address with its query string, the
    language and today's date, like the figures' keys: a change anywhere in
    the register, or a new day, and the page is rendered afresh.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "GET" or settings.SESSION_COOKIE_NAME in request.COOKIES:
            return view(request, *args, **kwargs)
        key = _page_key(request)
        response = cache.get(key)
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
        ):
            cache.set(key, response, _timeout())
        return response

    return wrapper


def public_page(view):
    """A public page: answered 304 when the reader holds it already, else served from the cache."""
    return conditional(cached_page(view))


def _page_key(request):
    parts = [
        str(version()[0]),
        request.get_full_path(),
        translation.get_language() or "",
        str(timezone.localdate()),
    ]
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()
    return f"members:page:{digest}"


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
        invalidate()


@receiver(m2m_changed, sender=Organisation.sectors.through)
def _sectors_changed(sender, **kwargs):
    invalidate()
