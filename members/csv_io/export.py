"""Export: the register's rows as CSV, streamed, for the directory, the admin and the command."""

import csv
import io
from itertools import islice

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.http import StreamingHttpResponse
from django.utils import timezone

from members.csv_io.columns import COLUMNS, HEADERS
from members.filters import DirectoryFilter
from members.models import Organisation

EXPORT_CHUNK_SIZE = 2000
# Rows written to the response per chunk: fewer, larger chunks stream faster.
ROWS_PER_CHUNK = 500


def export_rows(queryset=None):
    """Yield one list of cells per membership of the organisations, and one per organisation without any.

    One query, read in chunks: constant memory whatever the number of rows.
    The query itself neutralises formulas (see _safe); numbers and dates are
    left as they are (csv.writer writes None as empty, an int as digits, a
    date in ISO 8601 — SQLite returns it as that text already).
    """
    organisations = Organisation.objects.all()
    if queryset is not None:
        # Through a subquery, so the caller's filters on memberships cannot
        # hide the organisation's other memberships from the export.
        organisations = organisations.filter(pk__in=queryset.order_by().values("pk"))
    rows = organisations.order_by(
        "slug", "memberships__federation__slug", "memberships__joined_on"
    ).values_list(*(column.export for column in COLUMNS))
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # an empty selection, known without asking the database
        return
    # The ORM builds the query; the rows are read from the cursor directly,
    # skipping per-row conversions that would only turn values back into the
    # same text. A chunked cursor is server-side on PostgreSQL.
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(EXPORT_CHUNK_SIZE):
            yield from map(list, batch)


def stream_csv(queryset=None, *, delimiter=",", bom=False):
    """Yield the CSV text of the export in chunks of a few hundred rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(HEADERS)
    yield ("\ufeff" if bom else "") + buffer.getvalue()
    rows = export_rows(queryset)
    while chunk := list(islice(rows, ROWS_PER_CHUNK)):
        # The buffer is emptied after each chunk: memory stays constant.
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(chunk)
        yield buffer.getvalue()


def export_options(params):
    """Read ?bom=1 and ?delimiter=semicolon from a request's GET or a command's options."""
    bom = str(params.get("bom", "")).lower() in {"1", "true", "yes", "on"}
    delimiter = ";" if str(params.get("delimiter", "")).lower() in {"semicolon", ";"} else ","
    return {"bom": bom, "delimiter": delimiter}


def export_filename(prefix="register"):
    return f"{prefix}-{timezone.localdate():%Y-%m-%d}.csv"


def export_response(queryset, request, prefix="register"):
    """A streamed CSV download of the organisations in the queryset, with the request's options."""
    response = StreamingHttpResponse(
        stream_csv(queryset, **export_options(request.GET)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export_filename(prefix)}"'
    return response


def filtered_organisations(params):
    """The organisations the directory's filters select for these parameters, and the form's errors."""
    filterset = DirectoryFilter(params, queryset=Organisation.objects.all())
    if not filterset.is_valid():
        return Organisation.objects.none(), filterset.errors
    return filterset.qs, {}


def directory_queryset(request):
    """The organisations the public directory lists for the request's filters (none if they are invalid)."""
    # As the directory does (strict): a bad filter lists nothing rather than everything.
    return filtered_organisations(request.GET)[0]


def directory_csv(request):
    """The public directory's "Download CSV": exactly the organisations its filters select."""
    return export_response(directory_queryset(request), request)
