"""The columns of the register's CSV: one definition that export and import share.

For each column: its header, the SQL expression export reads (so a whole
export is one query, which also neutralises formulas) and the parser import
checks a cell with. A file that export writes is a file import reads back
with no change.
"""

import datetime
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import connection
from django.db.models import Case, CharField, ExpressionWrapper, F, Func, OuterRef, Subquery, Value, When
from django.db.models.functions import Concat, Replace, Substr
from django.db.models.lookups import Exact, In, IsNull, StartsWith
from django.utils import translation
from django.utils.translation import gettext as _
from django_countries import countries

from members.dates import DatePrecision
from members.models import DeclaredFigures, Membership, Organisation

# A spreadsheet runs a cell starting with one of these as a formula (OWASP).
FORMULA_LEADS = frozenset("=+-@\t\r\0")
_ESCAPED = FORMULA_LEADS | {"'"}

ORGANISATION, MEMBERSHIP, DECLARATION = "organisation", "membership", "declaration"
TEXT, NUMBER, DATE = "text", "number", "date"


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
