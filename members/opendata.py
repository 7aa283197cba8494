"""The register as open data: JSON shaped after Popolo, streamed.

Popolo (popoloproject.com) names the parts: `organizations`, and
`memberships` linking a `member_id` to an `organization_id` with
`start_date` / `end_date`. The register adds what Popolo has no word for:
the precision of each date, and `declared_figures` (what an organisation
declares for a year). Every list is one query read in chunks, so the
document is written in constant memory. The whole register is served from a
file built once per version of the register (members/exportfiles.py); a
filtered selection is streamed. members/schemas/register.schema.json is the
committed schema the output is tested against.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from members import exportfiles
from members.csv_io import directory_queryset, selects_everything
from members.dates import entered_left_on
from members.models import DeclaredFigures, Membership, Organisation

SCHEMA_VERSION = "1.0"
CONTENT_TYPE = "application/json; charset=utf-8"
CHUNK_SIZE = 2000
ITEMS_PER_CHUNK = 500

# A row as values() gives it, and an object of the JSON document.
Row = dict[str, Any]
JSONObject = dict[str, Any]

_SOURCE_FIELDS = ["source__title", "source__url", "source__publisher", "source__published_on", "source_note"]


def _sources(row: Row, prefix: str = "") -> list[dict[str, str]]:
    """Popolo's `sources` list: the document, with the words the facts rest on."""
    title = row[f"{prefix}source__title"]
    note = row.get(f"{prefix}source_note") or ""
    if not title and not note:
        return []
    source = {"note": title or note}
    if row[f"{prefix}source__url"]:
        source["url"] = row[f"{prefix}source__url"]
    if row[f"{prefix}source__publisher"]:
        source["publisher"] = row[f"{prefix}source__publisher"]
    if row[f"{prefix}source__published_on"]:
        source["date"] = row[f"{prefix}source__published_on"].isoformat()
    if title and note:
        source["quote"] = note
    return [source]


def _date(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def _organisation(row: Row) -> JSONObject:
    item = {
        "id": row["slug"],
        "name": row["name"],
        "classification": row["kind"],
        "country": row["country"] or None,
        "countries_of_operation": [code for code in row["countries_of_operation"].split(",") if code],
        "city": row["city"] or None,
        "founding_date": str(row["founded"]) if row["founded"] else None,
        "other_names": [{"name": row["acronym"], "note": "acronym"}] if row["acronym"] else [],
        "links": [{"url": row["website"], "note": "website"}] if row["website"] else [],
        "sources": _sources(row),
    }
    return item


def _membership(row: Row) -> JSONObject:
    return {
        "id": f"{row['member__slug']}/{row['federation__slug']}/{row['joined_on'].isoformat()}",
        "member_id": row["member__slug"],
        "organization_id": row["federation__slug"],
        "role": row["category"],
        "start_date": row["joined_on"].isoformat(),
        "start_date_precision": row["joined_precision"],
        # A departure "at the end of 2022" ends on its last day counted, 2022-12-31 (members/dates.py).
        "end_date": _date(entered_left_on(row["left_on"], row["left_precision"])),
        "end_date_precision": row["left_precision"] if row["left_on"] else None,
        "sources": _sources(row),
    }


def _declaration(row: Row) -> JSONObject:
    return {
        "organization_id": row["organisation__slug"],
        "year": row["year"],
        "declared_on": row["declared_on"].isoformat(),
        "enterprises": row["enterprises"],
        "employment": row["employment"],
        "member_organisations": row["member_organisations"],
        "countries": row["countries"],
        "includes_members": row["includes_members"],
        "sources": _sources(row),
    }


def register_parts(
    organisations: QuerySet[Organisation] | None = None,
) -> tuple[QuerySet[Organisation, Row], QuerySet[Membership, Row], QuerySet[DeclaredFigures, Row]]:
    """The three querysets of the export: the organisations, their memberships, the declarations.

    Organisations are the selected ones and every federation they belong to,
    so each membership's organization_id is in the file.
    """
    selected = (
        (organisations if organisations is not None else Organisation.objects.all()).order_by().values("pk")
    )
    memberships = Membership.objects.filter(member__in=selected)
    listed = Organisation.objects.filter(Q(pk__in=selected) | Q(pk__in=memberships.values("federation_id")))
    return (
        listed.order_by("slug").values(
            "slug",
            "name",
            "acronym",
            "kind",
            "country",
            "countries_of_operation",
            "city",
            "website",
            "founded",
            *_SOURCE_FIELDS[:-1],
        ),
        memberships.order_by("member__slug", "federation__slug", "joined_on").values(
            "member__slug",
            "federation__slug",
            "category",
            "joined_on",
            "joined_precision",
            "left_on",
            "left_precision",
            *_SOURCE_FIELDS,
        ),
        DeclaredFigures.objects.filter(organisation__in=listed.values("pk"))
        .order_by("organisation__slug", "declared_on")
        .values(
            "organisation__slug",
            "year",
            "declared_on",
            "enterprises",
            "employment",
            "member_organisations",
            "countries",
            "includes_members",
            *_SOURCE_FIELDS,
        ),
    )


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _array(queryset: QuerySet[Any, Row], shape: Callable[[Row], JSONObject]) -> Iterator[str]:
    buffer = []
    first = True
    for row in queryset.iterator(chunk_size=CHUNK_SIZE):
        buffer.append(("" if first else ",") + _dump(shape(row)))
        first = False
        if len(buffer) >= ITEMS_PER_CHUNK:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)


def stream_register(
    organisations: QuerySet[Organisation] | None = None, *, source_url: str = ""
) -> Iterator[str]:
    """Yield the JSON document in chunks."""
    organisations_qs, memberships_qs, declarations_qs = register_parts(organisations)
    meta = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "source_url": source_url,
        "description": (
            "Organisations, memberships and declared figures of the register of co-operative "
            "federations, shaped after the Popolo data specification."
        ),
    }
    yield '{"meta":' + _dump(meta) + ',"organizations":['
    yield from _array(organisations_qs, _organisation)
    yield '],"memberships":['
    yield from _array(memberships_qs, _membership)
    yield '],"declared_figures":['
    yield from _array(declarations_qs, _declaration)
    yield "]}"


@require_safe
def register_json(request: HttpRequest) -> HttpResponseBase:
    """The register as JSON; the directory's filters (?federation=cicopa …) select the organisations."""
    response: HttpResponseBase
    if selects_everything(request.GET):
        # The whole register: the same file for every reader until the register changes. Its
        # source_url is this address without the query, which selects nothing here.
        address = request.build_absolute_uri(request.path)
        response = exportfiles.serve(
            request,
            "register.json",
            lambda: stream_register(source_url=address),
            content_type=CONTENT_TYPE,
            filename="register.json",
        )
    else:
        response = StreamingHttpResponse(
            stream_register(directory_queryset(request), source_url=request.build_absolute_uri()),
            content_type=CONTENT_TYPE,
        )
    # Open data: any site may read it from a browser.
    response["Access-Control-Allow-Origin"] = "*"
    return response
