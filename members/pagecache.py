"""Readers' pages cached until the register changes, and conditional GETs.

Public pages send an ETag and Last-Modified made from the register's version
(members/cache.py) and the moment it last changed, so a client that already
holds the current page gets 304 without the page being rendered; readers are
served the page itself from the cache until the register next changes.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import DEFAULT_DB_ALIAS, router
from django.http import HttpRequest, HttpResponseBase
from django.template.response import SimpleTemplateResponse
from django.utils import timezone, translation
from django.views.decorators.http import condition

from members.cache import get_or_compute, version
from members.models import Organisation

# Readers' pages live in their own cache (settings.CACHES["pages"]), so that
# many different addresses can push out other pages but never the figures.
PAGES = "pages"
# With a read replica, a page rendered this soon after a change may come from
# a replica that has not caught up yet: it is served but not stored.
REPLICA_GRACE = 10

View = Callable[..., HttpResponseBase]


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
    rendered and not stored, so made-up parameters cannot fill the cache.
    The key holds the register's version, the site's address with those
    parameters in order, the language and today's date, like the figures'
    keys: a change anywhere in the register, a release (migrate), or a new
    day, and the page is rendered afresh. If the cache fails, the page is
    rendered as if nothing were cached.
    """
    reads = frozenset(params)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if (
            request.method != "GET"
            # In development, a template just edited shows at once.
            or settings.DEBUG
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or not reads.issuperset(request.GET.keys())
        ):
            return view(request, *args, **kwargs)
        pages = caches[PAGES]
        _forget_outdated_pages(pages)

        def render() -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            if isinstance(response, SimpleTemplateResponse):
                response.render()  # a TemplateResponse pickles only once rendered
            return response

        def shareable(response: HttpResponseBase) -> bool:
            return (
                response.status_code == 200
                and not response.streaming
                and not response.cookies
                # get_token() marks a page that holds a CSRF token.
                and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
                and not _replica_may_lag()
            )

        return get_or_compute(pages, _page_key(request), render, what=request.path, keep=shareable)

    return wrapper


def public_page(view: View, params: tuple[str, ...] | list[str] = ()) -> View:
    """A public page: answered 304 when the reader holds it already, else served from the cache."""
    return conditional(cached_page(view, params))


def _page_key(request: HttpRequest) -> str:
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
