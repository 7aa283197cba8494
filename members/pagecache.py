"""Readers' pages cached until the register changes, and conditional GETs.

Public pages send an ETag and Last-Modified made from the register's version
(members/cache.py) and the moment it last changed, so a client that already
holds the current page gets 304 without the page being rendered; readers are
served the page itself from the cache until the register next changes.

Anyone can make up addresses, so what is stored is bounded whatever they ask
for: each page is stored bare and in a bounded set of variants (`stored_query`:
no search, "as of" only a day members/cache.py keeps, the first pages of a
list; and at most PAGE_VARIANTS query strings per page and version), under the
site's own host name (`_cache_host`). Anything else is rendered for the reader
who asked and not stored, so no flood of addresses can push out the pages
readers share, and none reaches the figures, which live in another store.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import DEFAULT_DB_ALIAS, router
from django.http import HttpRequest, HttpResponseBase, QueryDict
from django.http.request import split_domain_port
from django.template.response import SimpleTemplateResponse
from django.utils import timezone, translation
from django.views.decorators.http import condition

from members.cache import get_or_compute, is_kept_day, timeout, version
from members.models import Organisation

# Readers' pages live in their own cache (settings.CACHES["pages"]), so that
# many different addresses can push out other pages but never the figures.
PAGES = "pages"
# With a read replica, a page rendered this soon after a change may come from
# a replica that has not caught up yet: it is served but not stored.
REPLICA_GRACE = 10

# Pages of a list stored for readers (the directory shows 25 organisations a page);
# later pages are rendered each time.
STORED_PAGES = 10
# Query strings stored per page, language and register version beyond the bare page:
# the directory's filters combine into millions of valid addresses.
PAGE_VARIANTS = 100

View = Callable[..., HttpResponseBase]


def _as_of_is_kept(value: str) -> bool:
    if value == "":
        return True
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return False
    return day.isoformat() == value and is_kept_day(day)


# The values of these parameters that are stored; any other is rendered and not stored.
STORED_VALUES: dict[str, Callable[[str], bool]] = {
    # A search is the reader's own words: as many as there are readers.
    "q": lambda value: value == "",
    "page": lambda value: value in {str(number) for number in range(1, STORED_PAGES + 1)},
    "as_of": _as_of_is_kept,
}


def stored_query(query: QueryDict) -> bool:
    """Whether a page with this query string may be stored (each parameter once, a stored value)."""
    return all(
        len(values) == 1 and STORED_VALUES.get(name, lambda value: True)(values[0])
        for name, values in query.lists()
    )


def _etag(request: HttpRequest, *args: Any, **kwargs: Any) -> str:
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


def _last_modified(request: HttpRequest, *args: Any, **kwargs: Any) -> datetime:
    return datetime.fromtimestamp(int(version()[1]), tz=UTC)


# ETag and Last-Modified for public pages and feeds: one cache read, no SQL.
conditional = condition(etag_func=_etag, last_modified_func=_last_modified)


def cached_page(view: View, params: tuple[str, ...] | list[str] = ()) -> View:
    """Serve a public page to readers from the cache while the register is unchanged.

    Only a GET without a session cookie (a reader, not signed-in staff) is
    served or stored, and only a complete 200 response that sets no cookie
    and carries no CSRF token, so nothing personal is ever shared. `params`
    names the query parameters the page reads: an address with any other is
    rendered and not stored, so made-up parameters cannot fill the cache;
    nor is one outside the bounded variants (see the module's docstring).
    The key holds the register's version, the scheme, the site's host name
    without the port, the path with those parameters in order, the language
    and today's date, like the figures' keys: a change anywhere in the
    register, a release (migrate), or a new day, and the page is rendered
    afresh. If the cache fails, the page is rendered as if nothing were cached.
    """
    reads = frozenset(params)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        host = _cache_host(request)
        if (
            request.method != "GET"
            # In development, a template just edited shows at once.
            or settings.DEBUG
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or not reads.issuperset(request.GET.keys())
            or host is None
        ):
            return view(request, *args, **kwargs)
        name, storable = host
        storable = storable and stored_query(request.GET)
        pages = caches[PAGES]
        _forget_outdated_pages(pages)

        def render() -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            if isinstance(response, SimpleTemplateResponse):
                response.render()  # a TemplateResponse pickles only once rendered
            return response

        def shareable(response: HttpResponseBase) -> bool:
            return (
                storable
                and response.status_code == 200
                and not response.streaming
                and not response.cookies
                # get_token() marks a page that holds a CSRF token.
                and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
                and not _replica_may_lag()
                # Counted last: only a page that is about to be stored takes a place.
                and (not request.GET or _variant_allowed(pages, request, name))
            )

        return get_or_compute(pages, _page_key(request, name), render, what=request.path, keep=shareable)

    return wrapper


def public_page(view: View, params: tuple[str, ...] | list[str] = ()) -> View:
    """A public page: answered 304 when the reader holds it already, else served from the cache."""
    return conditional(cached_page(view, params))


def _cache_host(request: HttpRequest) -> tuple[str, bool] | None:
    """Return the host name pages are cached under, and whether this request may store one; None: neither.

    Django has checked the host against ALLOWED_HOSTS, which ignores the port
    and lets a pattern (".example.org", "*") stand for any number of names:
    only a name written out there is cached, under that name without the port,
    so a page asked for on any port is served the one entry. Only a request
    that names no port, or the one it came in on, stores a page (a feed links
    to the host it was asked on, and a made-up port must not reach everyone).
    """
    domain, port = split_domain_port(request.get_host())
    if domain not in {host.lower() for host in settings.ALLOWED_HOSTS}:
        return None
    return domain, port in {"", request.get_port()}


def _page_key(request: HttpRequest, host: str) -> str:
    query = sorted((name, value) for name in request.GET for value in request.GET.getlist(name))
    parts = [
        str(version()[0]),
        request.scheme or "",
        host,
        request.path,
        repr(query),
        translation.get_language() or "",
        str(timezone.localdate()),
    ]
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()
    return f"members:page:{digest}"


def _variant_allowed(pages: BaseCache, request: HttpRequest, host: str) -> bool:
    # One count per page (scheme, host, path, language, day) and register version.
    parts = [
        str(version()[0]),
        request.scheme or "",
        host,
        request.path,
        translation.get_language() or "",
        str(timezone.localdate()),
    ]
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()
    key = f"members:page-variants:{digest}"
    try:
        pages.add(key, 0, timeout=timeout())
        return pages.incr(key) <= PAGE_VARIANTS
    except Exception:  # unreachable, or the count expired in between: store nothing this time
        return False


_local_version: int | None = None


def _forget_outdated_pages(pages: BaseCache) -> None:
    # Local memory never reads pages of an older version again but keeps them
    # until culled: drop them as soon as this process sees a new version, so a
    # worker holds one version's pages only.
    global _local_version
    if isinstance(pages, LocMemCache):
        number = version()[0]
        if number != _local_version:
            pages.clear()
            _local_version = number


def _replica_may_lag() -> bool:
    # The page was read from a replica (the router sends readers elsewhere than the
    # primary) and the register changed a moment ago: the replica may not have caught up.
    reads_replica = router.db_for_read(Organisation) != DEFAULT_DB_ALIAS
    return reads_replica and time.time() - version()[1] < REPLICA_GRACE
