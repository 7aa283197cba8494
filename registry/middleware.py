"""Project-wide middleware: request ids, compressing data, addresses holding NUL, primary pinning."""

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware
from django.utils.cache import patch_vary_headers

from members.exportfiles import accepts_gzip
from registry.logs import current_request_id
from registry.routers import pinned_to_primary

# An id from the proxy is kept only when it cannot forge or break a log line.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

GetResponse = Callable[[HttpRequest], HttpResponseBase]


class RequestIdMiddleware:
    """Give each request an id (the proxy's X-Request-ID if sane), log it and return it."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        # Kept in one place, the context variable the log filter and the 500 page read.
        # Not reset on the way out: Django logs 4xx responses after the middleware has
        # returned; registry.logs clears the id when the request is finished.
        current_request_id.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


# What is compressed: the open data, the CSV and the feeds, which hold only public facts.
COMPRESSED_MEDIA_TYPES = frozenset(
    {"application/json", "text/csv", "application/rss+xml", "application/atom+xml"}
)


class DataCompressionMiddleware(GZipMiddleware):
    """gzip the open data, the CSV and the feeds for a reader that accepts it; nothing else.

    Chosen by media type, not by address, so every data response is covered,
    the whole-register downloads' files included (members/exportfiles.py sends
    those already compressed, or decompressed to a client that refuses gzip;
    a response that has a Content-Encoding is left as it is).

    Never an HTML page, nor any response to a request with a session cookie:
    BREACH reads a secret (a CSRF token, what only staff see) from the size of
    a compressed response that also reflects the attacker's input. HTML pages
    may hold a CSRF token (the e-mail reveal, the admin); the public data holds
    no secret. Static files are whitenoise's, compressed once at collectstatic.

    Django's GZipMiddleware does the work: streamed responses compressed as
    they are sent (no Content-Length then), a small one or one that would not
    shrink left alone, a strong ETag made weak (the bytes differ; a conditional
    GET still matches it), `Vary: Accept-Encoding`. It takes any mention of
    gzip as acceptance; this one asks `accepts_gzip`, which honours `q=0`.
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        media_type = response.get("Content-Type", "").partition(";")[0].strip().lower()
        if media_type not in COMPRESSED_MEDIA_TYPES or settings.SESSION_COOKIE_NAME in request.COOKIES:
            return response
        # Whether or not this one is compressed, the next reader's may be.
        patch_vary_headers(response, ["Accept-Encoding"])
        if not accepts_gzip(request):
            return response
        return super().process_response(request, response)


class RejectNulMiddleware:
    """Answer 400 to an address whose path or query holds a NUL character.

    PostgreSQL can neither store nor compare a string holding NUL, so any such
    value that reached a query (a slug, a filter, a search, an admin id or
    autocomplete term) failed there, a 500; SQLite answered. No value of the
    register can hold one (forms refuse it), so the address names nothing, on
    either database. Form fields sent in a POST are left to the forms, which
    say what is wrong.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if "\x00" in request.path or any(
            "\x00" in name or any("\x00" in value for value in values) for name, values in request.GET.lists()
        ):
            # Django answers with the 400 page and logs the request as a bad one.
            raise BadRequest("The address holds a NUL character.")
        return self.get_response(request)


class PrimaryDatabaseMiddleware:
    """Keep staff work and every write request on the primary database.

    With a read replica, a member of staff who saves a record and is sent back to
    the list must see the change at once, whatever the replica's lag; the public
    pages, which are most of the traffic, read from the replica.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.admin_prefix = "/" + settings.ADMIN_PATH

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        pin = request.method not in ("GET", "HEAD", "OPTIONS") or request.path.startswith(self.admin_prefix)
        token = pinned_to_primary.set(pin)
        try:
            return self.get_response(request)
        finally:
            pinned_to_primary.reset(token)
