"""The register as open data: JSON valid against the Popolo schemas, streamed.

Popolo (popoloproject.com) names the parts: `organizations`, and
`memberships` linking a `member` to an `organization_id` with `start_date` /
`end_date`. Every organisation and membership validates against Popolo's own
JSON Schemas (draft 3, which allows properties of one's own), so:

- A member is an organisation, which Popolo writes as `"member": {"@type":
  "Organization", "id": …}` (`person_id` is for people).
- Dates are ISO 8601 reduced to what is known: `2017-05-01` for a day,
  `2017-05` for a month, `2017` for a year or a half-year (ISO 8601 has no
  reduced form for a half), with `start_date_precision` / `end_date_precision`
  and, for a half, `start_date_half` / `end_date_half` (1 or 2) beside them.
- A date known only as "by" a day (a source of that date lists the
  membership) is no start or end date: `start_date` / `end_date` is left out
  and the day goes in `attested_on` / `ended_by`.
- Popolo's `sources` are links, whose `url` is required: a source with an
  address is one there (its title as `note`); every source, with or without
  an address, is in `citations` with its title, publisher, date and the words
  quoted, so nothing the register holds is lost and no link is made up.

The register adds what Popolo has no word for: `declared_figures` (what an
organisation declares for a year). Every list is one query read in chunks, so
the document is written in constant memory. The whole register is served
from a file built once per version of the register (members/exportfiles.py);
a filtered selection is streamed. members/schemas/register.schema.json is the
committed schema that documents these extensions; the tests validate the
output against it and against Popolo's.
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
from members.dates import DatePrecision, entered_left_on, reduced_iso
from members.models import DeclaredFigures, Membership, Organisation

SCHEMA_VERSION = "2.0"
CONTENT_TYPE = "application/json; charset=utf-8"
CHUNK_SIZE = 2000
ITEMS_PER_CHUNK = 500

# A row as values() gives it, and an object of the JSON document.
Row = dict[str, Any]
JSONObject = dict[str, Any]

_SOURCE_FIELDS = ["source__title", "source__url", "source__publisher", "source__published_on", "source_note"]


def _citations(row: Row, prefix: str = "") -> list[JSONObject]:
    """The source as the register holds it: title, address, publisher, date, and the words quoted."""
    title = row[f"{prefix}source__title"]
    note = row.get(f"{prefix}source_note") or ""
    if not title and not note:
        return []
    citation: JSONObject = {}
    if title:
        citation["title"] = title
    if row[f"{prefix}source__url"]:
        citation["url"] = row[f"{prefix}source__url"]
    if row[f"{prefix}source__publisher"]:
        citation["publisher"] = row[f"{prefix}source__publisher"]
    if row[f"{prefix}source__published_on"]:
        citation["date"] = row[f"{prefix}source__published_on"].isoformat()
    if note:
        citation["quote"] = note
    return [citation]


def _sourced(row: Row) -> JSONObject:
    """Popolo's `sources` (links: only a source with an address is one) and the `citations` extension."""
    citations = _citations(row)
    return {
        "sources": [
            {"url": c["url"], "note": c["title"]} if "title" in c else {"url": c["url"]}
            for c in citations
            if "url" in c
        ],
        "citations": citations,
    }


def _dated(value: datetime.date | None, precision: str, *, field: str, by_field: str) -> JSONObject:
    """A start or an end: the reduced date with its precision, or, known only "by" a day, that day apart."""
    if value is None:
        return {}
    reduced = reduced_iso(value, precision)
    if reduced is None:
        return {by_field: value.isoformat()}
    shaped: JSONObject = {field: reduced, f"{field}_precision": precision}
    if precision in (DatePrecision.HALF_YEAR, DatePrecision.END_HALF_YEAR):
        shaped[f"{field}_half"] = 1 if value.month <= 6 else 2
    return shaped


def _organisation(row: Row) -> JSONObject:
    return {
        "id": row["slug"],
        "name": row["name"],
        "classification": row["kind"],
        "country": row["country"] or None,
        "countries_of_operation": [code for code in row["countries_of_operation"].split(",") if code],
        "city": row["city"] or None,
        "founding_date": str(row["founded"]) if row["founded"] else None,
        "other_names": [{"name": row["acronym"], "note": "acronym"}] if row["acronym"] else [],
        "links": [{"url": row["website"], "note": "website"}] if row["website"] else [],
        **_sourced(row),
    }


def _membership(row: Row) -> JSONObject:
    return {
        "id": f"{row['member__slug']}/{row['federation__slug']}/{row['joined_on'].isoformat()}",
        "member": {"@type": "Organization", "id": row["member__slug"]},
        "organization_id": row["federation__slug"],
        "role": row["category"],
        **_dated(row["joined_on"], row["joined_precision"], field="start_date", by_field="attested_on"),
        # A departure "at the end of 2022" ends on its last day counted, 2022-12-31 (members/dates.py).
        **_dated(
            entered_left_on(row["left_on"], row["left_precision"]),
            row["left_precision"],
            field="end_date",
            by_field="ended_by",
        ),
        **_sourced(row),
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
        **_sourced(row),
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
            "federations. Organizations and memberships follow the Popolo data specification "
            "(popoloproject.com); imprecise dates are reduced ISO 8601 dates with their precision."
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
