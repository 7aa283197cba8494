"""Readers' pages from the cache, the previous version while a change is brought in, and conditional GETs.

Public pages send an ETag and Last-Modified made from the register's version
(members/cache.py) and the moment it last changed, so a client that already
holds the current page gets 304 without the page being rendered; readers are
served the page itself from the cache. A change of the register outdates each
page without deleting it: readers are served the page as it was, at once,
marked with the time it was made (a line at the top of the page, `Age` and
`Last-Modified`), while one refresh per page runs on the task queue
(members/refresh.py, which also refreshes the pages a change touches as soon
as it commits). A page no reader has asked for yet is rendered for the first
who asks, the others waiting for it (members/cache.py's `fetch`).

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
import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIRequest
from django.db import DEFAULT_DB_ALIAS, router
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.http.request import split_domain_port
from django.template.response import SimpleTemplateResponse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.http import http_date, quote_etag
from django.utils.translation import gettext
from django.views.decorators.http import condition

from members.cache import Entry, fetch, is_kept_day, reading, timeout, version
from members.dates import date_format
from members.models import Organisation
from registry.routers import pinned_to_primary

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

# Where base.html leaves room for the line that says a page is outdated.
OUTDATED_MARK = b"<!--outdated-notice-->"
# Set in the WSGI environ of a refresh (`refresh`): no header a client sends can set it.
REFRESH = "members.pagecache.refresh"


@dataclass(frozen=True)
class Address:
    """What a stored page is keyed on (besides the day), enough to render it again outside a request."""

    scheme: str
    host: str
    path: str
    query: tuple[tuple[str, str], ...]
    language: str

    def key(self) -> str:
        parts = [self.scheme, self.host, self.path, repr(list(self.query)), self.language]
        parts.append(str(timezone.localdate()))
        digest = hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()
        return f"members:page:{digest}"

    def as_json(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "host": self.host,
            "path": self.path,
            "query": [list(pair) for pair in self.query],
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Address:
        query = tuple((str(name), str(value)) for name, value in data["query"])
        return cls(data["scheme"], data["host"], data["path"], query, data["language"])


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
    The key holds the scheme, the site's host name without the port, the
    path with those parameters in order, the language and today's date; the
    entry, the register's version it was made from. After a change anywhere
    in the register the page is served as it was, marked outdated, until its
    refresh is stored; after a release (migrate) or on a new day it is
    rendered afresh. If the cache fails, the page is rendered as if nothing
    were cached.
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
        pages = caches[PAGES]
        address = _address(request, name)
        if not (storable and stored_query(request.GET)):
            # Served the shared page if it is up to date (another port of the host),
            # else rendered for this reader alone.
            shared = _up_to_date(pages, address)
            return view(request, *args, **kwargs) if shared is None else shared
        refreshing = bool(request.META.get(REFRESH))

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
                # Counted last: only a page that is about to be stored takes a place.
                and (not request.GET or _variant_allowed(pages, request, name))
            )

        # A refresh reads the primary: what it stores serves every reader, and a
        # replica may not have caught up with the change it brings in.
        pinned = pinned_to_primary.set(True) if refreshing else None
        try:
            with reading(refreshing=refreshing) as state:
                entry = fetch(pages, address.key(), render, what=request.path, keep=shareable)
        finally:
            if pinned is not None:
                pinned_to_primary.reset(pinned)
        if state.wants_refresh:
            from members import refresh  # its tasks render pages through this module

            refresh.ask(address)
        if entry.stamp != version()[0]:
            return _marked_outdated(entry, request)
        return entry.value

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


def _address(request: HttpRequest, host: str) -> Address:
    query = sorted((name, value) for name in request.GET for value in request.GET.getlist(name))
    return Address(request.scheme or "", host, request.path, tuple(query), translation.get_language() or "")


def _marked_outdated(entry: Entry[HttpResponseBase], request: HttpRequest) -> HttpResponseBase:
    """The page as it was made: says when, at the top and in its headers, with validators of its own."""
    response = entry.value
    made = datetime.fromtimestamp(entry.computed_at, tz=UTC)
    if isinstance(response, HttpResponse) and OUTDATED_MARK in response.content:
        local = timezone.localtime(made)
        text = gettext("Figures as computed at %(time)s on %(day)s; being brought up to date.") % {
            "time": date_format(local, "H:i"),
            "day": date_format(local.date()),
        }
        notice = format_html('<p class="outdated-notice" role="status">{}</p>', text)
        response.content = response.content.replace(OUTDATED_MARK, notice.encode(), 1)
    response["Age"] = str(max(0, int(time.time() - entry.computed_at)))
    # Asked again each time, never kept by the browser: the refreshed page is moments away.
    response["Cache-Control"] = "no-cache"
    # Not the current version's validators: a client holding this page must not keep it once refreshed.
    response["Last-Modified"] = http_date(entry.computed_at)
    tag = f"{entry.stamp}|{request.get_full_path()}|{translation.get_language()}"
    response["ETag"] = quote_etag(hashlib.blake2b(tag.encode(), digest_size=12).hexdigest())
    return response


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


def _replica_may_lag() -> bool:
    # The page was read from a replica (the router sends readers elsewhere than the
    # primary) and the register changed a moment ago: the replica may not have caught up.
    reads_replica = router.db_for_read(Organisation) != DEFAULT_DB_ALIAS
    return reads_replica and time.time() - version()[1] < REPLICA_GRACE


_handler: BaseHandler | None = None


def refresh(address: Address) -> int:
    """Render the page at the address again and store it if it is outdated; return its status.

    Outside any request (a task worker): the request goes through the site's
    middleware like a reader's, anonymous, on the address's host and scheme,
    and reads the primary database.
    """
    global _handler
    if _handler is None:
        handler = BaseHandler()
        handler.load_middleware()
        _handler = handler
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": address.path,
        "QUERY_STRING": urlencode(address.query),
        "SERVER_NAME": address.host,
        "SERVER_PORT": "443" if address.scheme == "https" else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": address.host,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": address.scheme,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        REFRESH: True,
    }
    if address.scheme == "https" and settings.SECURE_PROXY_SSL_HEADER:
        header, value = settings.SECURE_PROXY_SSL_HEADER
        environ[header] = value
    # The middleware activates the page's language; the caller's comes back after.
    with translation.override(address.language):
        response = _handler.get_response(WSGIRequest(environ))
    return response.status_code


def _up_to_date(pages: BaseCache, address: Address) -> HttpResponseBase | None:
    try:
        entry = pages.get(address.key())
    except Exception:
        return None
    return entry.value if isinstance(entry, Entry) and entry.stamp == version()[0] else None


def is_outdated(address: Address) -> bool:
    """Whether the cache holds a page at the address made before the register's last change."""
    try:
        entry = caches[PAGES].get(address.key())
    except Exception:
        return False
    return isinstance(entry, Entry) and entry.stamp != version()[0]
