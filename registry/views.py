"""Project-level views: health probes for the load balancer and the error page."""

import logging

from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, HttpResponseServerError
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from registry.logs import current_request_id

logger = logging.getLogger(__name__)


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """/favicon.ico, which browsers and tools ask for whatever the page says: the static icon's address.

    A temporary redirect, as the static file's name changes with its content.
    """
    return HttpResponseRedirect(static("favicon.ico"))


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers: nothing else is checked, so a database outage restarts no server."""
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """The database answers a query; 503 takes this server out of the pool until it does."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("Readiness check failed: database unreachable (%s)", type(exc).__name__)
        return HttpResponse("database unavailable\n", content_type="text/plain", status=503)
    return HttpResponse("ok\n", content_type="text/plain")


def server_error(request: HttpRequest) -> HttpResponse:
    """Render 500.html without a request context.

    The context processors may need the database, which may be why we are here;
    the page shows the request id so that a report can be matched to the log.
    """
    request_id = current_request_id.get()
    try:
        return HttpResponseServerError(loader.render_to_string("500.html", {"request_id": request_id}))
    except Exception:
        # The error page must never fail in turn (a missing static manifest, a broken
        # template): log why and answer in plain text.
        logger.exception("The 500 page could not be rendered")
        return HttpResponseServerError(
            f"Server error. Reference: {request_id}\n", content_type="text/plain; charset=utf-8"
        )
