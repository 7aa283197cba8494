"""Export: the register's rows as CSV, streamed, for the directory, the admin and the command."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any, TypedDict

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from members import exportfiles
from members.csv_io.columns import COLUMNS, HEADERS
from members.filters import DirectoryFilter
from members.models import Membership, Organisation

EXPORT_CHUNK_SIZE = 2000
# Rows written to the response per chunk: fewer, larger chunks stream faster.
ROWS_PER_CHUNK = 500
CONTENT_TYPE = "text/csv; charset=utf-8"


def export_rows(
    queryset: QuerySet[Organisation] | None = None, memberships: QuerySet[Membership] | None = None
) -> Iterator[list[Any]]:
    """Return the rows of the export: one list of cells per membership, and one per organisation without any.

    With `memberships` (the admin's list filtered by a federation, a category,
    a period...), only those memberships are written, one row each: "CECOP's
    current members" writes their CECOP memberships, not their CICOPA ones,
    and an organisation none of whose memberships is among them is left out.

    One query, read in chunks as the rows are taken: constant memory whatever
    their number. The query itself neutralises formulas (see columns._safe);
    numbers and dates are left as they are (csv.writer writes None as empty,
    an int as digits, a date in ISO 8601 — SQLite returns it as that text
    already). The database is the one the router picks for reading when this
    is called, not when a streamed response reads the rows, by which time a
    staff request is no longer pinned to the primary.
    """
    database = router.db_for_read(Organisation)
    organisations = Organisation.objects.using(database)
    if queryset is not None:
        # Through a subquery, so the caller's filters on memberships cannot
        # hide the organisation's other memberships from the export.
        organisations = organisations.filter(pk__in=queryset.order_by().values("pk"))
    if memberships is not None:
        # The rows below read the memberships through this same join, so they are these.
        organisations = organisations.filter(memberships__in=memberships.order_by().values("pk"))
    rows = organisations.order_by(
        "slug", "memberships__federation__slug", "memberships__joined_on"
    ).values_list(*(column.export for column in COLUMNS))
    try:
        sql, params = rows.query.get_compiler(using=database).as_sql()
    except EmptyResultSet:  # an empty selection, known without asking the database
        return iter(())
    return _read(database, sql, params)


def _read(database: str, sql: str, params: Any) -> Iterator[list[Any]]:
    # The ORM built the query; the rows are read from the cursor directly,
    # skipping per-row conversions that would only turn values back into the
    # same text. A chunked cursor is server-side on PostgreSQL.
    with connections[database].chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(EXPORT_CHUNK_SIZE):
            yield from map(list, batch)


def stream_csv(
    queryset: QuerySet[Organisation] | None = None,
    *,
    delimiter: str = ",",
    bom: bool = False,
    memberships: QuerySet[Membership] | None = None,
) -> Iterator[str]:
    """Return the CSV text of the export, in chunks of a few hundred rows."""
    return _chunks(export_rows(queryset, memberships), delimiter, bom)


def _chunks(rows: Iterator[list[Any]], delimiter: str, bom: bool) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(HEADERS)
    yield ("\ufeff" if bom else "") + buffer.getvalue()
    while chunk := list(islice(rows, ROWS_PER_CHUNK)):
        # The buffer is emptied after each chunk: memory stays constant.
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(chunk)
        yield buffer.getvalue()


class ExportOptions(TypedDict):
    """How the file is written: with a byte-order mark or not, and its delimiter."""

    bom: bool
    delimiter: str


DEFAULT_OPTIONS: ExportOptions = {"bom": False, "delimiter": ","}


def export_options(params: Mapping[str, Any]) -> ExportOptions:
    """Read ?bom=1 and ?delimiter=semicolon from a request's GET or a command's options."""
    bom = str(params.get("bom", "")).lower() in {"1", "true", "yes", "on"}
    delimiter = ";" if str(params.get("delimiter", "")).lower() in {"semicolon", ";"} else ","
    return {"bom": bom, "delimiter": delimiter}


def export_filename(prefix: str = "register") -> str:
    """Return the download's name: the prefix and today's date."""
    return f"{prefix}-{timezone.localdate():%Y-%m-%d}.csv"


def export_response(
    queryset: QuerySet[Organisation],
    request: HttpRequest,
    prefix: str = "register",
    *,
    options: ExportOptions | None = None,
    memberships: QuerySet[Membership] | None = None,
) -> StreamingHttpResponse:
    """A streamed CSV download of the organisations in the queryset, in the options given or the request's."""
    chosen = options if options is not None else export_options(request.GET)
    response = StreamingHttpResponse(
        stream_csv(queryset, memberships=memberships, **chosen), content_type=CONTENT_TYPE
    )
    response["Content-Disposition"] = f'attachment; filename="{export_filename(prefix)}"'
    return response


def filtered_organisations(params: Mapping[str, Any]) -> tuple[QuerySet[Organisation], dict[str, Any]]:
    """The organisations the directory's filters select for these parameters, and the form's errors."""
    filterset = DirectoryFilter(params, queryset=Organisation.objects.all())
    if not filterset.is_valid():
        return Organisation.objects.none(), filterset.errors
    return filterset.qs, {}


def selects_everything(params: Mapping[str, Any]) -> bool:
    """Whether the directory's filters, as given, select every organisation: none is set.

    Read from the parameters alone, with no query: every filter absent or empty, and
    the order (not a filter, but the directory lists nothing for an unknown one) valid.
    Anything else goes through the FilterSet, as the directory does.
    """
    for name in DirectoryFilter.base_filters:
        value = params.get(name) or ""
        if name == "sort" and value in DirectoryFilter.SORTS:
            continue
        if value:
            return False
    return True


def directory_queryset(request: HttpRequest) -> QuerySet[Organisation]:
    """The organisations the public directory lists for the request's filters (none if they are invalid)."""
    # As the directory does (strict): a bad filter lists nothing rather than everything.
    return filtered_organisations(request.GET)[0]


@require_safe
def directory_csv(request: HttpRequest) -> HttpResponseBase:
    """The public directory's "Download CSV": exactly the organisations its filters select."""
    if selects_everything(request.GET) and export_options(request.GET) == DEFAULT_OPTIONS:
        # The whole register in the default format: one file for every reader until it changes.
        return exportfiles.serve(
            request,
            "register.csv",
            stream_csv,
            content_type=CONTENT_TYPE,
            filename=export_filename(),
            as_attachment=True,
        )
    return export_response(directory_queryset(request), request)
