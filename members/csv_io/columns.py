"""The columns of the register's CSV: one definition that export and import share.

For each column: its header, the SQL expression export reads (so a whole
export is one query, which also neutralises formulas) and the parser import
checks a cell with. A file that export writes is a file import reads back
with no change. Text columns are as long as the model's fields allow, years
within members/rules.py's bounds, and names are folded as the directory's
search folds them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, URLValidator, validate_slug
from django.db.models import (
    Case,
    CharField,
    DateField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Subquery,
    TextChoices,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Concat, Replace, Substr
from django.db.models.lookups import Exact, In, IsNull, StartsWith
from django.utils import translation
from django.utils.translation import gettext as _
from django_countries import countries

from members.dates import END_PRECISIONS, DatePrecision
from members.models import DeclaredFigures, Membership, Organisation
from members.rules import YEAR_MAX, YEAR_MIN, YEAR_RANGE_MESSAGE, fold

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

# A spreadsheet runs a cell starting with one of these as a formula (OWASP).
FORMULA_LEADS = frozenset("=+-@\t\r\0")
_ESCAPED = FORMULA_LEADS | {"'"}

ORGANISATION, MEMBERSHIP, DECLARATION = "organisation", "membership", "declaration"
TEXT, NUMBER, DATE = "text", "number", "date"

# A parser takes a cell's text (stripped, never empty) and returns the value to
# store, or raises ValueError with a message for the member of staff.
Parser = Callable[[str], Any]


def neutralise(text: str) -> str:
    """Return the text as a spreadsheet shows it without running it as a formula.

    A leading apostrophe is added before a dangerous first character, and
    before an apostrophe that import would otherwise take for one it added,
    so that unneutralise() always gives back the original.
    """
    if text and (text[0] in FORMULA_LEADS or (text[0] == "'" and text[1:2] and text[1] in _ESCAPED)):
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """Undo neutralise(): drop the apostrophe it added, and only that one."""
    if text[:1] == "'" and text[1:2] and text[1] in _ESCAPED:
        return text[1:]
    return text


def folded(text: str) -> str:
    """Return a name as look-ups by name compare it: spaces normalised, then folded as search folds."""
    return fold(" ".join(text.split()))


# Parsers


def _text(max_length: int) -> Parser:
    def parse(value: str) -> str:
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


def _text_of(name: str) -> Parser:
    """The parser of an organisation's text field: as long as the model allows."""
    field = Organisation._meta.get_field(name)
    if not isinstance(field, CharField) or field.max_length is None:  # slugs and URLs are CharFields
        raise TypeError(f"Organisation.{name} is not a text field with a maximum length.")
    return _text(field.max_length)


_slug_text = _text_of("slug")


def _slug(value: str) -> str:
    try:
        validate_slug(value)
    except ValidationError as error:
        raise ValueError(
            _("“%(value)s” is not a valid slug: use letters, digits, hyphens and underscores only.")
            % {"value": value}
        ) from error
    return _slug_text(value)


def _choice(choices: type[TextChoices]) -> Parser:
    accepted = frozenset(choices.values)

    def parse(value: str) -> str:
        if value in accepted:
            return value
        raise ValueError(
            _("“%(value)s” is not one of the accepted values: %(accepted)s.")
            % {"value": value, "accepted": ", ".join(choices.values)}
        )

    return parse


@cache
def country_names() -> dict[str, str]:
    """Map every country's English, French and Spanish name (folded) to its ISO code."""
    names = {}
    for language in ("es", "fr", "en"):  # English last, so it wins a clash
        with translation.override(language):
            names.update({folded(str(name)): code for code, name in countries})
    return names


def _country(value: str) -> str:
    code = countries.alpha2(value) if len(value) <= 3 else ""
    code = code or country_names().get(folded(value), "")
    if not code:
        raise ValueError(
            _("Unknown country “%(value)s”: give its ISO code (BE) or its English, French or Spanish name.")
            % {"value": value}
        )
    return code


def _countries(value: str) -> list[str]:
    parts = value.split(";") if ";" in value else value.split()
    return sorted({_country(part.strip()) for part in parts if part.strip()})


_website_text = _text_of("website")


def _url(value: str) -> str:
    try:
        URLValidator()(value)
    except ValidationError as error:
        raise ValueError(
            _("“%(value)s” is not a web address (it should start with https://).") % {"value": value}
        ) from error
    return _website_text(value)


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        pass
    raise ValueError(
        _("“%(value)s” is not a date: write it as YYYY-MM-DD, for example 2017-06-21.") % {"value": value}
    )


def _whole(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < 0:
        raise ValueError(_("“%(value)s” is not a whole number of zero or more.") % {"value": value})
    return number


def _count_of(name: str) -> Parser:
    """The parser of a declaration's count: a whole number no larger than the model's field stores.

    The bound is the field's own MaxValueValidator, the one the admin applies,
    which Django derives from the database's integer column; read when the first
    cell is parsed, so that importing this module opens no database backend.
    """
    field = DeclaredFigures._meta.get_field(name)
    if not isinstance(field, IntegerField):
        raise TypeError(f"DeclaredFigures.{name} is not an integer field.")

    def parse(value: str) -> int:
        largest = _largest(field)
        number = None if _more_digits_than(value, largest) else _whole(value)
        if number is None or number > largest:
            raise ValueError(
                _("Is larger than %(max)d, the largest number this column can hold.") % {"max": largest}
            )
        return number

    return parse


def _more_digits_than(value: str, largest: int) -> bool:
    # Said before int() runs, which refuses more than 4,300 digits with a message about digits.
    return value.isascii() and value.isdigit() and len(value) > len(str(largest))


@cache
def _largest(field: IntegerField[Any, Any]) -> int:
    limits = [v.limit_value for v in field.validators if isinstance(v, MaxValueValidator)]
    return min(limit() if callable(limit) else limit for limit in limits)


def _year(value: str) -> int:
    year = YEAR_MAX + 1 if _more_digits_than(value, YEAR_MAX) else _whole(value)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValueError(str(YEAR_RANGE_MESSAGE))
    return year


# Export: one SQL expression per column, for values_list() on Organisation.


class _NulAware(Case):
    """A CASE whose first branch looks for a leading NUL, a branch PostgreSQL leaves out.

    PostgreSQL cannot store NUL (nor take it as a parameter) and has no HEX();
    the branch is dropped when the query is compiled for it, so the choice
    follows the database the export actually reads.
    """

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> _AsSqlType:
        without_nul = self.copy()
        without_nul.cases = without_nul.cases[1:]
        return without_nul.as_sql(compiler, connection, **extra_context)


def _safe(path: str) -> Case:
    """SQL doing what neutralise() does, so that export needs no Python per cell."""
    leads = sorted(FORMULA_LEADS - {"\0"})
    value = ExpressionWrapper(F(path), output_field=CharField())
    first, second = Substr(value, 1, 1), Substr(value, 2, 1)
    quoted = Concat(Value("'"), value, output_field=CharField())
    # SQLite's substr() stops at NUL; the UTF-8 of a text starting with NUL starts with 00.
    nul = When(StartsWith(Func(value, function="HEX", output_field=CharField()), "00"), then=quoted)
    return _NulAware(
        nul,
        When(In(first, leads), then=quoted),
        When(Exact(first, "'"), then=Case(When(In(second, [*leads, "'"]), then=quoted), default=value)),
        default=value,
        output_field=CharField(),
    )


def _codes(path: str) -> Replace:
    # Stored "BE,FR"; written "BE FR", as a spreadsheet user types them.
    return Replace(ExpressionWrapper(F(path), output_field=CharField()), Value(","), Value(" "))


def _only_with(path: str, date_path: str) -> Case:
    # The precision of a date that is not there says nothing.
    return Case(
        When(IsNull(F(date_path), False), then=F(path)), default=Value(None), output_field=CharField()
    )


class _DayBefore(Func):
    # The day before a date, as a date: PostgreSQL's date - integer, SQLite's date(…, '-1 day').
    output_field = DateField()
    arity = 1
    template = "(%(expressions)s - 1)"

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> _AsSqlType:
        template = "date(%(expressions)s, '-1 day')"
        return super().as_sql(compiler, connection, template=template, **extra_context)


def _left_as_entered(path: str) -> Case:
    # A departure "at the end of 2022" is stored 2023-01-01 and written as people enter it, its
    # last day 2022-12-31 (members/dates.py's entered_left_on), which import stores back the same.
    return Case(
        When(In(F("memberships__left_precision"), list(END_PRECISIONS)), then=_DayBefore(F(path))),
        default=F(path),
        output_field=DateField(),
    )


def _latest_declaration(field_name: str) -> Subquery:
    latest = DeclaredFigures.objects.filter(organisation=OuterRef("pk")).order_by("-declared_on")
    return Subquery(latest.values(field_name)[:1])


@dataclass(frozen=True)
class Column:
    """One column of the file: its header, how export reads it, how import parses it."""

    header: str
    model: str
    field: str
    export: str | Combinable  # a path or expression for values_list() on Organisation
    parse: Parser
    cell: str = TEXT
    required: bool = False


COLUMNS = (
    Column("slug", ORGANISATION, "slug", _safe("slug"), _slug, required=True),
    Column("name", ORGANISATION, "name", _safe("name"), _text_of("name"), required=True),
    Column("acronym", ORGANISATION, "acronym", _safe("acronym"), _text_of("acronym")),
    Column("kind", ORGANISATION, "kind", _safe("kind"), _choice(Organisation.Kind), required=True),
    Column("country", ORGANISATION, "country", _safe("country"), _country),
    Column(
        "countries_of_operation",
        ORGANISATION,
        "countries_of_operation",
        _codes("countries_of_operation"),
        _countries,
    ),
    Column("city", ORGANISATION, "city", _safe("city"), _text_of("city")),
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
    Column("left_on", MEMBERSHIP, "left_on", _left_as_entered("memberships__left_on"), _date, cell=DATE),
    Column(
        "left_precision",
        MEMBERSHIP,
        "left_precision",
        _only_with("memberships__left_precision", "memberships__left_on"),
        _choice(DatePrecision),
    ),
    Column("figures_year", DECLARATION, "year", _latest_declaration("year"), _year, cell=NUMBER),
    Column(
        "enterprises",
        DECLARATION,
        "enterprises",
        _latest_declaration("enterprises"),
        _count_of("enterprises"),
        cell=NUMBER,
    ),
    Column(
        "employment",
        DECLARATION,
        "employment",
        _latest_declaration("employment"),
        _count_of("employment"),
        cell=NUMBER,
    ),
)
HEADERS = [column.header for column in COLUMNS]
BY_HEADER = {column.header: column for column in COLUMNS}
ORGANISATION_COLUMNS = [c for c in COLUMNS if c.model == ORGANISATION]
MEMBERSHIP_COLUMNS = [c for c in COLUMNS if c.model == MEMBERSHIP]
DECLARATION_COLUMNS = [c for c in COLUMNS if c.model == DECLARATION]
