"""The register as CSV, out and in, from one definition of the columns.

COLUMNS says, for each column, its header, where export reads it from (one
SQL expression per column, so a whole export is one query) and how import
parses and checks it. A file that export writes is a file import reads back
with no change. The README's "Data in and out" section documents the format.

Import is in two steps: plan_import() reads and checks the whole file and
returns a plan (what would be created, updated or left alone, with the
differences) and every error; apply_import() writes a plan with no errors in
one transaction with bulk queries. Nothing is written unless every row is valid.
"""

import csv
import datetime
import io
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from itertools import islice, pairwise
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import connection, transaction
from django.db.models import Case, CharField, ExpressionWrapper, F, Func, OuterRef, Subquery, Value, When
from django.db.models.functions import Concat, Replace, Substr
from django.db.models.lookups import Exact, In, IsNull, StartsWith
from django.http import StreamingHttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from members.cache import register_changed
from members.dates import DatePrecision, start_of_period
from members.filters import DirectoryFilter
from members.models import DeclaredFigures, Membership, Organisation

# A spreadsheet runs a cell starting with one of these as a formula (OWASP).
FORMULA_LEADS = frozenset("=+-@\t\r\0")
_ESCAPED = FORMULA_LEADS | {"'"}
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
EXPORT_CHUNK_SIZE = 2000
# Rows written to the response per chunk: fewer, larger chunks stream faster.
ROWS_PER_CHUNK = 500
# Slugs per IN (...) lookup, at most: fewer round trips, bounded query size.
LOOKUP_BATCH = 10_000

ORGANISATION, MEMBERSHIP, DECLARATION = "organisation", "membership", "declaration"
TEXT, NUMBER, DATE = "text", "number", "date"


def max_import_bytes():
    """The largest file import accepts: settings.MEMBERS_IMPORT_MAX_BYTES, 20 MB by default."""
    return getattr(settings, "MEMBERS_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def neutralise(text):
    """Return the text as a spreadsheet shows it without running it as a formula.

    A leading apostrophe is added before a dangerous first character, and
    before an apostrophe that import would otherwise take for one it added,
    so that unneutralise() always gives back the original.
    """
    if text and (text[0] in FORMULA_LEADS or (text[0] == "'" and text[1:2] and text[1] in _ESCAPED)):
        return "'" + text
    return text


def unneutralise(text):
    """Undo neutralise(): drop the apostrophe it added, and only that one."""
    if text[:1] == "'" and text[1:2] and text[1] in _ESCAPED:
        return text[1:]
    return text


# Parsers: each takes the cell's text (stripped, never empty) and returns the
# value to store, or raises ValueError with a message for the member of staff.


def _text(max_length):
    def parse(value):
        if "\x00" in value:
            # As Django's forms refuse it: PostgreSQL cannot store it.
            raise ValueError(_("Contains a NUL character, which is not allowed."))
        if len(value) > max_length:
            raise ValueError(
                _("Is %(length)d characters long; at most %(max)d are allowed.")
                % {"length": len(value), "max": max_length}
            )
        return value

    return parse


def _slug(value):
    try:
        validate_slug(value)
    except ValidationError as error:
        raise ValueError(
            _("“%(value)s” is not a valid slug: use letters, digits, hyphens and underscores only.")
            % {"value": value}
        ) from error
    return _text(120)(value)


def _choice(choices):
    accepted = frozenset(choices.values)

    def parse(value):
        if value in accepted:
            return value
        raise ValueError(
            _("“%(value)s” is not one of the accepted values: %(accepted)s.")
            % {"value": value, "accepted": ", ".join(choices.values)}
        )

    return parse


def _fold(text):
    """Lower-case without accents, so "Bélgica", "belgica" and "BELGICA" match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


@cache
def country_names():
    """Map every country's English, French and Spanish name (folded) to its ISO code."""
    names = {}
    for language in ("es", "fr", "en"):  # English last, so it wins a clash
        with translation.override(language):
            names.update({_fold(str(name)): code for code, name in countries})
    return names


def _country(value):
    code = countries.alpha2(value) if len(value) <= 3 else ""
    code = code or country_names().get(_fold(value), "")
    if not code:
        raise ValueError(
            _("Unknown country “%(value)s”: give its ISO code (BE) or its English, French or Spanish name.")
            % {"value": value}
        )
    return code


def _countries(value):
    parts = value.split(";") if ";" in value else value.split()
    return sorted({_country(part.strip()) for part in parts if part.strip()})


def _url(value):
    try:
        URLValidator()(value)
    except ValidationError as error:
        raise ValueError(
            _("“%(value)s” is not a web address (it should start with https://).") % {"value": value}
        ) from error
    return _text(300)(value)


def _date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        pass
    raise ValueError(
        _("“%(value)s” is not a date: write it as YYYY-MM-DD, for example 2017-06-21.") % {"value": value}
    )


def _count(value):
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < 0:
        raise ValueError(_("“%(value)s” is not a whole number of zero or more.") % {"value": value})
    return number


def _year(value):
    year = _count(value)
    if not 1800 <= year <= 2100:
        raise ValueError(_("The year must be between 1800 and 2100."))
    return year


def _latest_declaration(field_name):
    latest = DeclaredFigures.objects.filter(organisation=OuterRef("pk")).order_by("-declared_on")
    return Subquery(latest.values(field_name)[:1])


@dataclass(frozen=True)
class Column:
    """One column of the file: its header, how export reads it, how import parses it."""

    header: str
    model: str
    field: str
    export: Any  # a path or expression for values_list() on Organisation
    parse: Any
    cell: str = TEXT
    required: bool = False


def _safe(path):
    """SQL doing what neutralise() does, so that export needs no Python per cell.

    PostgreSQL cannot store NUL (nor take it as a parameter), so it is only
    looked for on other databases.
    """
    leads = sorted(FORMULA_LEADS - {"\0"})
    value = ExpressionWrapper(F(path), output_field=CharField())
    first, second = Substr(value, 1, 1), Substr(value, 2, 1)
    quoted = Concat(Value("'"), value, output_field=CharField())
    nul = []
    if connection.vendor != "postgresql":
        # SQLite's substr() stops at NUL; the UTF-8 of a text starting with NUL starts with 00.
        nul = [When(StartsWith(Func(value, function="HEX", output_field=CharField()), "00"), then=quoted)]
    return Case(
        *nul,
        When(In(first, leads), then=quoted),
        When(Exact(first, "'"), then=Case(When(In(second, [*leads, "'"]), then=quoted), default=value)),
        default=value,
        output_field=CharField(),
    )


def _codes(path):
    # Stored "BE,FR"; written "BE FR", as a spreadsheet user types them.
    return Replace(ExpressionWrapper(F(path), output_field=CharField()), Value(","), Value(" "))


def _only_with(path, date_path):
    # The precision of a date that is not there says nothing.
    return Case(
        When(IsNull(F(date_path), False), then=F(path)), default=Value(None), output_field=CharField()
    )


COLUMNS = (
    Column("slug", ORGANISATION, "slug", _safe("slug"), _slug, required=True),
    Column("name", ORGANISATION, "name", _safe("name"), _text(300), required=True),
    Column("acronym", ORGANISATION, "acronym", _safe("acronym"), _text(50)),
    Column("kind", ORGANISATION, "kind", _safe("kind"), _choice(Organisation.Kind), required=True),
    Column("country", ORGANISATION, "country", _safe("country"), _country),
    Column(
        "countries_of_operation",
        ORGANISATION,
        "countries_of_operation",
        _codes("countries_of_operation"),
        _countries,
    ),
    Column("city", ORGANISATION, "city", _safe("city"), _text(100)),
    Column("website", ORGANISATION, "website", _safe("website"), _url),
    Column("federation", MEMBERSHIP, "federation", _safe("memberships__federation__slug"), _slug),
    Column("category", MEMBERSHIP, "category", _safe("memberships__category"), _choice(Membership.Category)),
    Column("joined_on", MEMBERSHIP, "joined_on", "memberships__joined_on", _date, cell=DATE),
    Column(
        "joined_precision",
        MEMBERSHIP,
        "joined_precision",
        _safe("memberships__joined_precision"),
        _choice(DatePrecision),
    ),
    Column("left_on", MEMBERSHIP, "left_on", "memberships__left_on", _date, cell=DATE),
    Column(
        "left_precision",
        MEMBERSHIP,
        "left_precision",
        _only_with("memberships__left_precision", "memberships__left_on"),
        _choice(DatePrecision),
    ),
    Column("figures_year", DECLARATION, "year", _latest_declaration("year"), _year, cell=NUMBER),
    Column(
        "enterprises", DECLARATION, "enterprises", _latest_declaration("enterprises"), _count, cell=NUMBER
    ),
    Column("employment", DECLARATION, "employment", _latest_declaration("employment"), _count, cell=NUMBER),
)
HEADERS = [column.header for column in COLUMNS]
BY_HEADER = {column.header: column for column in COLUMNS}
ORGANISATION_COLUMNS = [c for c in COLUMNS if c.model == ORGANISATION]
MEMBERSHIP_COLUMNS = [c for c in COLUMNS if c.model == MEMBERSHIP]


# Export


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


# Import


@dataclass(frozen=True)
class RowError:
    """A problem in the file: its row (the header is row 1, as a spreadsheet counts), column and message."""

    row: int | None
    column: str
    message: str

    def __str__(self):
        where = []
        if self.row:
            where.append(_("row %(row)d") % {"row": self.row})
        if self.column:
            where.append(_("column “%(column)s”") % {"column": self.column})
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class Change:
    column: str
    old: str
    new: str


CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
ACTION_LABELS = {
    CREATE: gettext_lazy("create"),
    UPDATE: gettext_lazy("update"),
    UNCHANGED: gettext_lazy("unchanged"),
}


@dataclass(slots=True)
class PlannedRow:
    """What importing one row of the file would do."""

    row: int
    slug: str
    federation: str
    organisation_action: str = UNCHANGED
    membership_action: str = ""
    changes: list[Change] = field(default_factory=list)

    @property
    def action(self):
        actions = {self.organisation_action, self.membership_action}
        return CREATE if CREATE in actions else UPDATE if UPDATE in actions else UNCHANGED

    @property
    def action_label(self):
        return ACTION_LABELS[self.action]


@dataclass
class ImportPlan:
    """Everything an import would do, or why it cannot be done."""

    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    organisations_to_create: dict = field(default_factory=dict)  # slug -> field values
    organisations_to_update: dict = field(default_factory=dict)  # pk -> changed field values
    memberships_to_create: list = field(default_factory=list)  # (member slug, federation slug, values)
    memberships_to_update: dict = field(default_factory=dict)  # pk -> changed field values
    unchanged_organisations: int = 0
    unchanged_memberships: int = 0

    @property
    def is_valid(self):
        return not self.errors

    @property
    def has_changes(self):
        return bool(
            self.organisations_to_create
            or self.organisations_to_update
            or self.memberships_to_create
            or self.memberships_to_update
        )

    def counts(self):
        return {
            "organisations_created": len(self.organisations_to_create),
            "organisations_updated": len(self.organisations_to_update),
            "organisations_unchanged": self.unchanged_organisations,
            "memberships_created": len(self.memberships_to_create),
            "memberships_updated": len(self.memberships_to_update),
            "memberships_unchanged": self.unchanged_memberships,
        }


class _Row:
    __slots__ = ("number", "values")

    def __init__(self, number):
        self.number = number
        self.values = {}  # header -> parsed value (None when the cell is empty)


def decode(data):
    """Return the file's text, or raise ValueError saying which encoding it needs."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError(
            _("The file is in UTF-16. Save it as “CSV UTF-8” in your spreadsheet program and try again.")
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            _(
                "The file is not in UTF-8 (the first character that is not is on line %(line)d; the file "
                "was probably saved as Windows-1252 or Latin-1). Save it as “CSV UTF-8” in your "
                "spreadsheet program and try again."
            )
            % {"line": line}
        ) from error


def sniff_delimiter(text):
    """Comma or semicolon, whichever separates the header's names (no header contains either)."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def too_large_error(size):
    """The error for a file of this many bytes, over the limit."""
    return RowError(
        None,
        "",
        _("The file is %(size)s; the largest file accepted is %(limit)s. Split it and import each part.")
        % {"size": filesizeformat(size), "limit": filesizeformat(max_import_bytes())},
    )


_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def plan_import(data):
    """Read and check a whole file (bytes) against the register; write nothing."""
    plan = ImportPlan()
    limit = max_import_bytes()
    if len(data) > limit:
        plan.errors.append(too_large_error(len(data)))
        return plan
    try:
        text = decode(data)
    except ValueError as error:
        plan.errors.append(RowError(None, "", str(error)))
        return plan
    # Lines read lazily, split on "\n" only (as csv expects with newline=""):
    # a StringIO would hold a second, wider copy of the whole file.
    lines = (match.group() for match in _LINE.finditer(text))
    reader = csv.reader(lines, delimiter=sniff_delimiter(text))
    try:
        header = [name.strip() for name in next(reader, [])]
        headers = _check_header(header, plan)
        if plan.errors:
            return plan
        rows = _parse_rows(reader, headers, plan)
    except csv.Error as error:
        plan.errors.append(
            RowError(reader.line_num, "", _("The file is not valid CSV: %(error)s") % {"error": error})
        )
        return plan
    if not rows and not plan.errors:
        plan.errors.append(RowError(None, "", _("The file has a header but no rows.")))
    planner = _Planner(plan, rows, set(headers))
    if plan.errors:
        # Still name unknown federations, so that one round of corrections fixes them all.
        planner.check_references()
        plan.errors.sort(key=lambda e: (e.row or 0, HEADERS.index(e.column) if e.column in BY_HEADER else -1))
        return plan
    planner.run()
    if plan.errors:
        plan.errors.sort(key=lambda e: (e.row or 0, HEADERS.index(e.column) if e.column in BY_HEADER else -1))
    return plan


def _check_header(header, plan):
    if not any(header):
        plan.errors.append(RowError(1, "", _("The file is empty: the first row must name the columns.")))
        return []
    seen = set()
    for name in header:
        if name not in BY_HEADER:
            plan.errors.append(
                RowError(
                    1,
                    name,
                    _("Unknown column. The accepted columns are: %(columns)s.")
                    % {"columns": ", ".join(HEADERS)},
                )
            )
        elif name in seen:
            plan.errors.append(RowError(1, name, _("This column appears twice.")))
        seen.add(name)
    required = [c.header for c in COLUMNS if c.required]
    if "federation" in seen:
        required.append("joined_on")
    for name in required:
        if name not in seen:
            plan.errors.append(RowError(1, name, _("This column is required and missing.")))
    return header


def _parse_rows(reader, headers, plan):
    rows = []
    columns = [BY_HEADER[name] for name in headers]
    specs = [(c.header, c.parse, c.cell == TEXT, c.required) for c in columns]
    for index, record in enumerate(reader):
        number = index + 2
        if not "".join(record).strip():
            continue
        if len(record) != len(columns):
            plan.errors.append(
                RowError(
                    number,
                    "",
                    _("This row has %(cells)d cells; the header has %(columns)d.")
                    % {"cells": len(record), "columns": len(columns)},
                )
            )
            continue
        row = _Row(number)
        values = row.values
        for (header, parse, is_text, required), cell in zip(specs, record, strict=True):
            value = cell.strip()
            if not value:
                # Empty cells are not stored (values.get() gives None): large files stay smaller.
                if required:
                    plan.errors.append(RowError(number, header, _("This cell is required.")))
                continue
            if is_text and value[0] == "'":
                value = unneutralise(value)
            try:
                values[header] = parse(value)
            except ValueError as error:
                plan.errors.append(RowError(number, header, str(error)))
        rows.append(row)
    return rows


def _batched(items, size=None):
    # SQLite caps the parameters of one query; PostgreSQL takes large IN lists.
    limit = connection.features.max_query_params
    size = size or (min(limit - 1, LOOKUP_BATCH) if limit else LOOKUP_BATCH)
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _display(column, value):
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


class _Planner:
    """Checks parsed rows against each other and the register, and fills in the plan."""

    def __init__(self, plan, rows, present):
        self.plan = plan
        self.rows = rows
        self.present = present
        self.existing = {}  # slug -> organisation values
        self.first_row_of = {}  # slug -> first _Row describing it

    def error(self, row, column, message):
        self.plan.errors.append(RowError(row.number, column, message))

    def check_references(self):
        for row in self.rows:
            if row.values.get("slug") is not None:
                self.first_row_of.setdefault(row.values["slug"], row)
        self._load_organisations()
        self._check_federations()

    def run(self):
        self._check_membership_cells()
        self._check_same_organisation()
        self._load_organisations()
        self._check_federations()
        if self.plan.errors:
            return
        self._plan_organisations()
        self._plan_memberships()

    def _check_membership_cells(self):
        for row in self.rows:
            values = row.values
            if values.get("federation") is None:
                for column in MEMBERSHIP_COLUMNS[1:]:
                    if values.get(column.header) is not None:
                        self.error(
                            row, column.header, _("A membership cell is filled in but “federation” is empty.")
                        )
                continue
            if values.get("joined_on") is None and "joined_on" in self.present:
                self.error(row, "joined_on", _("A membership needs the date it started."))
            if values["federation"] == values.get("slug"):
                self.error(row, "federation", _("An organisation cannot be a member of itself."))
            if values.get("left_on") is None and values.get("left_precision") is not None:
                self.error(row, "left_precision", _("A precision is given for a date that is not there."))

    def _check_same_organisation(self):
        keys = {}
        for row in self.rows:
            slug = row.values.get("slug")
            if slug is None:
                continue
            first = self.first_row_of.setdefault(slug, row)
            if first is not row:
                for column in (*ORGANISATION_COLUMNS, *(c for c in COLUMNS if c.model == DECLARATION)):
                    header = column.header
                    if header in self.present and row.values.get(header) != first.values.get(header):
                        self.error(
                            row,
                            header,
                            _("Differs from row %(row)d, which describes the same organisation.")
                            % {"row": first.number},
                        )
            joined = row.values.get("joined_on")
            if joined is not None:
                joined = start_of_period(joined, row.values.get("joined_precision") or DatePrecision.DAY)
            key = (slug, row.values.get("federation"), joined)
            if key in keys:
                self.error(row, "", _("Duplicates row %(row)d.") % {"row": keys[key].number})
            else:
                keys[key] = row

    def _load_organisations(self):
        slugs = set(self.first_row_of) | {
            r.values["federation"] for r in self.rows if r.values.get("federation")
        }
        names = ["id", *(c.field for c in ORGANISATION_COLUMNS)]
        for batch in _batched(slugs):
            for values in Organisation.objects.filter(slug__in=batch).values(*names):
                values["countries_of_operation"] = [
                    c for c in values["countries_of_operation"].split(",") if c
                ]
                self.existing[values["slug"]] = values

    def _check_federations(self):
        for row in self.rows:
            federation = row.values.get("federation")
            if federation and federation not in self.existing and federation not in self.first_row_of:
                self.error(
                    row,
                    "federation",
                    _(
                        "Unknown federation “%(slug)s”: no organisation has this slug in the register "
                        "or in the file."
                    )
                    % {"slug": federation},
                )

    def _plan_organisations(self):
        planned = {}
        for slug, row in self.first_row_of.items():
            new = {
                c.field: row.values[c.header] if row.values.get(c.header) is not None else _empty(c)
                for c in ORGANISATION_COLUMNS
                if c.header in self.present
            }
            old = self.existing.get(slug)
            if old is None:
                self.plan.organisations_to_create[slug] = new
                changes = [
                    Change(c.header, "", _display(c, new.get(c.field)))
                    for c in ORGANISATION_COLUMNS
                    if new.get(c.field)
                ]
                planned[slug] = (CREATE, changes)
                continue
            changed = {name: value for name, value in new.items() if old[name] != value}
            if changed:
                self.plan.organisations_to_update[old["id"]] = changed
                changes = [
                    Change(c.header, _display(c, old[c.field]), _display(c, changed[c.field]))
                    for c in ORGANISATION_COLUMNS
                    if c.field in changed
                ]
                planned[slug] = (UPDATE, changes)
            else:
                self.plan.unchanged_organisations += 1
                planned[slug] = (UNCHANGED, [])
        for row in self.rows:
            slug = row.values["slug"]
            planned_row = PlannedRow(row.number, slug, row.values.get("federation") or "")
            if self.first_row_of[slug] is row:
                planned_row.organisation_action, planned_row.changes = planned[slug]
            self.plan.rows.append(planned_row)

    def _plan_memberships(self):
        ids = {slug: values["id"] for slug, values in self.existing.items()}
        member_ids = [ids[slug] for slug in self.first_row_of if slug in ids]
        fields = [
            "id",
            "member_id",
            "federation_id",
            "category",
            "joined_on",
            "joined_precision",
            "left_on",
            "left_precision",
        ]
        periods = defaultdict(list)  # (member, federation) -> [(joined, left, row or None, pk)]
        existing = {}
        for batch in _batched(member_ids):
            for values in Membership.objects.filter(member_id__in=batch).values(*fields):
                existing[(values["member_id"], values["federation_id"], values["joined_on"])] = values
        slug_of = {values["id"]: slug for slug, values in self.existing.items()}
        matched = set()

        def node(slug):
            # Existing organisations are known by id, new ones by slug.
            return ids.get(slug, slug)

        new_edges = []
        for row, planned_row in zip(self.rows, self.plan.rows, strict=True):
            values = row.values
            federation = values.get("federation")
            if not federation:
                continue
            joined_precision = values.get("joined_precision") or DatePrecision.DAY
            joined = start_of_period(values["joined_on"], joined_precision)
            key = (node(values["slug"]), node(federation), joined)
            old = existing.get(key)
            left_precision = values.get("left_precision") or (
                old["left_precision"] if old else DatePrecision.DAY
            )
            left = start_of_period(values.get("left_on"), left_precision)
            new = {
                "category": values.get("category") or Membership.Category.FULL,
                "joined_on": joined,
                "joined_precision": joined_precision,
                "left_on": left,
                "left_precision": left_precision,
            }
            if left is not None and left <= joined:
                self.error(row, "left_on", _("A membership must end after the day it starts."))
            periods[key[:2]].append((joined, left, row, old["id"] if old else None))
            if old is None:
                new_edges.append((key[0], key[1], row))
                self.plan.memberships_to_create.append((values["slug"], federation, new))
                planned_row.membership_action = CREATE
                planned_row.changes += [
                    Change(c.header, "", _display(c, new.get(c.field)))
                    for c in MEMBERSHIP_COLUMNS[1:]
                    if new.get(c.field) and (c.field != "left_precision" or left is not None)
                ]
                continue
            matched.add(old["id"])
            changed = {name: value for name, value in new.items() if old[name] != value}
            if "left_on" not in changed and new["left_on"] is None:
                changed.pop("left_precision", None)
            if changed:
                self.plan.memberships_to_update[old["id"]] = changed
                planned_row.membership_action = UPDATE
                planned_row.changes += [
                    Change(c.header, _display(c, old[c.field]), _display(c, changed[c.field]))
                    for c in MEMBERSHIP_COLUMNS
                    if c.field in changed
                ]
            else:
                self.plan.unchanged_memberships += 1
                planned_row.membership_action = UNCHANGED
        for values in existing.values():
            if values["id"] not in matched:
                key = (values["member_id"], values["federation_id"])
                periods[key].append((values["joined_on"], values["left_on"], None, values["id"]))
        self._check_overlaps(periods, slug_of)
        self._check_cycles(new_edges)

    def _check_overlaps(self, periods, slug_of):
        for pair, spans in periods.items():
            if len(spans) < 2:
                continue
            spans.sort(key=lambda span: span[0])
            for before, after in pairwise(spans):
                if before[1] is not None and before[1] <= after[0]:
                    continue
                row = after[2] or before[2]
                other = before if row is after[2] else after
                if row is None:
                    continue
                where = _("row %(row)d") % {"row": other[2].number} if other[2] else _("the register")
                self.error(
                    row,
                    "joined_on",
                    _(
                        "This period of %(member)s in %(federation)s overlaps another one, from %(joined)s, "
                        "in %(where)s; two periods of the same membership cannot overlap."
                    )
                    % {
                        "member": slug_of.get(pair[0], pair[0]),
                        "federation": slug_of.get(pair[1], pair[1]),
                        "joined": other[0].isoformat(),
                        "where": where,
                    },
                )

    def _check_cycles(self, new_edges):
        if not new_edges:
            return
        graph = defaultdict(set)
        for member, federation in Membership.objects.values_list("member_id", "federation_id").iterator():
            graph[member].add(federation)
        for member, federation, _row in new_edges:
            graph[member].add(federation)
        on_cycle = _nodes_on_cycles(graph)
        for member, federation, row in new_edges:
            if member in on_cycle and federation in on_cycle:
                self.error(
                    row,
                    "federation",
                    _(
                        "%(member)s cannot join %(federation)s: %(federation)s is already a member of "
                        "%(member)s, directly or through other federations."
                    )
                    % {"member": row.values["slug"], "federation": row.values["federation"]},
                )


def _empty(column):
    return [] if column.field == "countries_of_operation" else ""


def _nodes_on_cycles(graph):
    """The nodes that lie on a cycle, or between two: peel off sources, then sinks (Kahn's algorithm)."""
    nodes = set(graph) | {target for targets in graph.values() for target in targets}
    reverse = defaultdict(set)
    for source, targets in graph.items():
        for target in targets:
            reverse[target].add(source)
    remaining = set(nodes)
    for forward, backward in ((graph, reverse), (reverse, graph)):
        degree = {n: len(backward[n] & remaining) for n in remaining}
        queue = [n for n, d in degree.items() if d == 0]
        while queue:
            current = queue.pop()
            remaining.discard(current)
            for nxt in forward.get(current, ()):
                if nxt in remaining:
                    degree[nxt] -= 1
                    if degree[nxt] == 0:
                        queue.append(nxt)
    return remaining


def _history_enabled(model):
    return apps.is_installed("simple_history") and hasattr(model, "history")


def _bulk_create(model, objects, user):
    if _history_enabled(model):
        from simple_history.utils import bulk_create_with_history  # the history app is optional

        return bulk_create_with_history(objects, model, batch_size=1000, default_user=user)
    return model.objects.bulk_create(objects, batch_size=1000)


def _bulk_update(model, objects, fields, user):
    if not objects:
        return
    if _history_enabled(model):
        from simple_history.utils import bulk_update_with_history  # the history app is optional

        bulk_update_with_history(objects, model, fields, batch_size=1000, default_user=user)
    else:
        model.objects.bulk_update(objects, fields, batch_size=1000)


def _load_for_update(model, changes):
    objects = {}
    for batch in _batched(changes):
        objects.update(model.objects.in_bulk(batch))
    now = timezone.now()
    fields = {"updated_at"}
    for pk, changed in changes.items():
        obj = objects[pk]
        for name, value in changed.items():
            setattr(obj, name, value)
        obj.updated_at = now
        fields |= set(changed)
    return list(objects.values()), sorted(fields)


@transaction.atomic
def apply_import(plan, user=None):
    """Write a valid plan in one transaction with bulk queries; recorded in the history as the user's."""
    if plan.errors:
        raise ValueError("An import plan with errors cannot be applied.")
    created = _bulk_create(
        Organisation, [Organisation(**values) for values in plan.organisations_to_create.values()], user
    )
    ids = {organisation.slug: organisation.pk for organisation in created}
    if any(pk is None for pk in ids.values()):
        ids = dict(Organisation.objects.filter(slug__in=list(ids)).values_list("slug", "id"))
    objects, fields = _load_for_update(Organisation, plan.organisations_to_update)
    _bulk_update(Organisation, objects, fields, user)
    needed = {s for s, f, _v in plan.memberships_to_create} | {f for s, f, _v in plan.memberships_to_create}
    missing = needed - set(ids)
    for batch in _batched(missing):
        ids.update(Organisation.objects.filter(slug__in=batch).values_list("slug", "id"))
    _bulk_create(
        Membership,
        [
            Membership(member_id=ids[member], federation_id=ids[federation], **values)
            for member, federation, values in plan.memberships_to_create
        ],
        user,
    )
    objects, fields = _load_for_update(Membership, plan.memberships_to_update)
    _bulk_update(Membership, objects, fields, user)
    # Bulk writes send no save signals: tell the figures cache the register changed.
    register_changed()
    return plan.counts()
