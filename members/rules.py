"""The register's rules, each written once, in every form its callers need.

- **Current on day D.** A membership is current on D when it started on or
  before D and had not ended by D: `joined_on <= D AND (left_on IS NULL OR
  left_on > D)`. A member counts on the day it joins and no longer on the day
  it leaves. The rule has an ORM form (`current_q`), an SQL fragment for the
  recursive network queries (`current_sql`) and a Python form for rows already
  in memory (`is_current`); tests hold the three to the same answers. The
  materialised network (members/reach.py) keeps periods [start_on, end_on)
  under the same rule, through the same functions. Two periods overlap when
  each starts before the other ends (`overlap_sql`); a path through the
  network is current exactly during the overlap of its memberships.
- **Ended by day D** (`ended_q`): left on or before D; the complement of
  current for memberships that have started.
- **A join** (`join_event_q`): a membership whose start is the day it began,
  known to the day, month, half-year or year. A start only attested by a
  source ("member by" a date, precision "by") counts from that date but is
  never a join: growth, news, feeds and "latest joins" leave it out.
- **Departed between two days** (`departed_q`): dated by the departure's
  day — the last day counted for one "at the end of" a period.
- **Former member** (`former_memberships`): an organisation whose membership
  has ended by D and which, on D, holds no membership of the same
  federation — the one the reader chose, or any.
- **Plausible years**: YEAR_MIN to YEAR_MAX, for years founded, years
  declared, filters and "as of" dates (FIRST_DAY to LAST_DAY).
- **Folding** (`fold`): how names are compared — lower case, accents removed
  ("Crédit" and "CREDIT" fold alike); used by search, sorting and every
  look-up by name. Its database form is `Folded`, and the database stores it:
  `Organisation.name_folded` and `acronym_folded` are columns generated from
  `Folded` on every write, indexed for the directory's order and search.

Membership validation (not a member of itself, ends after it starts, no
overlap, no cycle) is members/validation.py.
"""

from __future__ import annotations

import datetime
import functools
import sys
import unicodedata
from typing import TYPE_CHECKING, Any

from django.db.models import CharField, Func, Q, Value
from django.db.models.functions import Collate, Lower
from django.utils.translation import gettext_lazy as _

from members.dates import END_PRECISIONS, ONE_DAY, DatePrecision

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

    from members.models import MembershipQuerySet, Organisation

YEAR_MIN = 1800
YEAR_MAX = 2100
FIRST_DAY = datetime.date(YEAR_MIN, 1, 1)
LAST_DAY = datetime.date(YEAR_MAX, 12, 31)
# The messages name the same bounds (the tests hold them to YEAR_MIN and YEAR_MAX).
YEAR_RANGE_MESSAGE = _("The year must be between 1800 and 2100.")
FOUNDED_RANGE_MESSAGE = _("The year founded must be between 1800 and 2100.")


def current_q(day: datetime.date, prefix: str = "", *, start: str = "joined_on", end: str = "left_on") -> Q:
    """Return the condition "current on the day" for memberships, reached through `prefix` if given.

    `start` and `end` name the period's fields for another table of periods
    [start, end) that follows the same rule (members/reach.py's NetworkReach).
    """
    return Q(**{f"{prefix}{start}__lte": day}) & (
        Q(**{f"{prefix}{end}__isnull": True}) | Q(**{f"{prefix}{end}__gt": day})
    )


def current_sql(alias: str | None = None, *, start: str = "joined_on", end: str = "left_on") -> str:
    """Return the SQL condition "current on the day" for a memberships table (aliased or not).

    Its two placeholders both take the day: pass `[day, day]` as parameters.
    `start` and `end` name the columns of another table of periods that follows the same rule.
    """
    column = f"{alias}." if alias else ""
    return f"{column}{start} <= %s AND ({column}{end} IS NULL OR {column}{end} > %s)"


def overlap_sql(
    starts: tuple[str, str], ends: tuple[str, str], greatest: str, least: str
) -> tuple[str, str, str]:
    """Return SQL (start, end, condition) for the overlap of two periods [start, end), an end NULL: open.

    `greatest` and `least` are the database's two-argument GREATEST and LEAST
    (MAX and MIN on SQLite). The overlap is [later start, earlier end), not
    empty when each period starts before the other ends: under current_q's
    rule a day is current in both periods exactly when it is in that one.
    """
    start = f"{greatest}({starts[0]}, {starts[1]})"
    end = (
        f"CASE WHEN {ends[0]} IS NULL THEN {ends[1]} WHEN {ends[1]} IS NULL THEN {ends[0]} "
        f"ELSE {least}({ends[0]}, {ends[1]}) END"
    )
    condition = (
        f"({ends[0]} IS NULL OR {ends[0]} > {starts[1]}) AND ({ends[1]} IS NULL OR {ends[1]} > {starts[0]})"
    )
    return start, end, condition


def is_current(joined_on: datetime.date, left_on: datetime.date | None, day: datetime.date) -> bool:
    """Return whether a membership with these dates is current on the day (for rows already loaded)."""
    return joined_on <= day and (left_on is None or left_on > day)


def join_event_q(prefix: str = "") -> Q:
    """Return the condition "its start is a join": the start is dated, not only attested by a source."""
    return ~Q(**{f"{prefix}joined_precision": DatePrecision.BY})


def is_join_event(joined_precision: str) -> bool:
    """Return whether a membership with this start precision began with a join (for rows already loaded)."""
    return joined_precision != DatePrecision.BY


def ended_q(day: datetime.date) -> Q:
    """Return the condition "ended by the day": left on or before it."""
    return Q(left_on__lte=day)


def departed_q(first: datetime.date | None, last: datetime.date | None) -> Q:
    """Return the condition "its departure is dated between the days" (either may be open).

    A departure is dated by members/dates.py's `departure_day`: "at the end of"
    a period by its last day counted (left_on less a day), any other by its
    left_on. "Left in 2022" so finds a departure at the end of 2022.
    """

    def between(shift: datetime.timedelta) -> Q:
        condition = Q(left_on__isnull=False)
        if first is not None:
            condition &= Q(left_on__gte=first + shift)
        if last is not None:
            condition &= Q(left_on__lte=last + shift)
        return condition

    at_end = Q(left_precision__in=END_PRECISIONS)
    return (at_end & between(ONE_DAY)) | (~at_end & between(datetime.timedelta(0)))


def has_ended(left_on: datetime.date | None, day: datetime.date) -> bool:
    """Return whether a membership that left on `left_on` had ended by the day (for rows already loaded)."""
    return left_on is not None and left_on <= day


def former_memberships(
    memberships: MembershipQuerySet, day: datetime.date, federation: Organisation | int | str | None = None
) -> MembershipQuerySet:
    """Return the memberships among these that make a former member on the day.

    Ended by the day, of an organisation that holds no counted membership
    (any category but "regional organisation") current on the day of the
    same federation (`federation`, when the reader chose one) or, without
    one, of any federation. The federation is an instance or its primary key
    (the admin's filter passes it as its query string gives it). The
    category or year the reader chose narrows which ended memberships are
    listed, never what "still a member" means.
    """
    still_in = memberships.model.objects.counted().filter(current_q(day))
    if federation is not None:
        # Through Q: the ORM takes a primary key given as text, the type checker's lookup check does not.
        still_in = still_in.filter(Q(federation=federation))
    return memberships.filter(ended_q(day)).exclude(member_id__in=still_in.values("member_id"))


# The import folds each name and acronym of a file several times, and an organisation's on each
# of its rows: the same texts, folded once.
@functools.lru_cache(maxsize=1 << 16)
def fold(text: str | None) -> str:
    """Return the text lower-cased with its accents removed: "Crédit" → "credit".

    Lower-cased, not case-folded ("Straße" stays "straße"): the database
    mirrors this function character for character (`Folded`), and lower-casing
    is what both Python and PostgreSQL (through ICU) do alike.
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@functools.cache
def _combining_characters() -> str:
    # Every character fold() drops (a non-zero combining class), as a regular
    # expression's class of ranges, for the database's side of the folding
    # (computed once, when first compiled: a scan of every code point).
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.combining(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "[" + "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges) + "]"


def register_sqlite_fold(sqlite_connection: Any) -> None:
    """Give an SQLite connection `members_fold`, which every write of an organisation computes.

    Connected to `connection_created` (members/apps.py): the generated folded
    columns call it on every INSERT and UPDATE, so a connection without it
    cannot write an organisation (nor can the sqlite3 shell).
    """
    sqlite_connection.create_function("members_fold", 1, fold, deterministic=True)


class Folded(Func):
    """A text column lower-cased without accents in the database, as `fold` does in Python.

    The expression of the generated columns `Organisation.name_folded` and
    `acronym_folded`. On SQLite it is `fold` itself (registered on every
    connection as `members_fold`). On PostgreSQL it is the same three steps in
    IMMUTABLE built-ins, as a generated column needs: NORMALIZE(…, NFKD),
    REGEXP_REPLACE of the characters `fold` drops, LOWER under ICU's root
    collation (a UTF8 database with ICU, as Debian's PostgreSQL has); tests
    hold it to `fold` for every assigned character of planes 0 to 2. Changing
    the folding needs a migration that regenerates those columns.
    """

    output_field = CharField()
    arity = 1

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> _AsSqlType:
        # Registering on every compilation is cheap and covers connections
        # opened before this module was imported.
        connection.ensure_connection()
        register_sqlite_fold(connection.connection)
        return super().as_sql(compiler, connection, function="members_fold", **extra_context)

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> _AsSqlType:
        # fold() step by step: NFKD, drop the combining marks, lower-case. ICU's
        # lower-casing is Unicode's, as Python's is (a final Σ becomes ς), whatever
        # the database's own locale.
        decomposed = Func(*self.get_source_expressions(), template="NORMALIZE(%(expressions)s, NFKD)")
        stripped = Func(
            decomposed, Value(_combining_characters()), Value(""), Value("g"), function="REGEXP_REPLACE"
        )
        return compiler.compile(Lower(Collate(stripped, "und-x-icu")))
