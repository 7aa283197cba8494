"""Membership news: the joins and departures of a period, counted and listed page by page.

A period is a year, a half-year, a month or a range of days. An event is in
the period only when the whole of what its date stands for lies inside it: a
join known only to 2017 is not said to be of the first half of 2017, and one
known to May 2017 is. Events whose date is known too loosely to tell are
counted apart ("imprecise"), never silently put in or left out.

Joins are the starts that members/rules.py calls joins (a start only attested
by a source is none); regional links are not membership news (`counted()`).
The list is one SQL UNION of joins and departures, ordered and cut to a page
by the database, so a page costs the same whatever the register's size.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Count, F, Q, Value
from django.db.models.fields import CharField
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from members.dates import (
    END_PRECISIONS,
    ONE_DAY,
    DatePrecision,
    date_format,
    format_at_precision,
    start_of_period,
    stored_left_on,
)
from members.feeds import MembershipEvent
from members.models import Membership, MembershipQuerySet, Organisation
from members.rules import join_event_q

if TYPE_CHECKING:
    from django.db.models import QuerySet


@dataclass(frozen=True)
class Period:
    """The days first..last (both included, either open), and how a reader names them."""

    first: datetime.date | None = None
    last: datetime.date | None = None
    precision: str = DatePrecision.DAY  # of a year, half-year or month; DAY for a range of days

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(datetime.date(year, 1, 1), datetime.date(year, 12, 31), DatePrecision.YEAR)

    @classmethod
    def half(cls, year: int, half: int) -> Period:
        if half == 1:
            return cls(datetime.date(year, 1, 1), datetime.date(year, 6, 30), DatePrecision.HALF_YEAR)
        return cls(datetime.date(year, 7, 1), datetime.date(year, 12, 31), DatePrecision.HALF_YEAR)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        following = datetime.date(year + month // 12, month % 12 + 1, 1)
        return cls(datetime.date(year, month, 1), following - datetime.timedelta(days=1), DatePrecision.MONTH)

    @property
    def is_open(self) -> bool:
        return self.first is None and self.last is None

    @property
    def phrase(self) -> str:
        """The period as it ends a sentence: "in the first half of 2017", "between … and …"."""
        if self.first is not None and self.precision != DatePrecision.DAY:
            values = {"period": format_at_precision(self.first, self.precision)}
            if self.precision == DatePrecision.HALF_YEAR:
                return _("in the %(period)s") % values
            # "in May 2017", "in 2017".
            return _("in %(period)s") % values
        if self.first is not None and self.last is not None:
            return _("between %(first)s and %(last)s") % {
                "first": date_format(self.first),
                "last": date_format(self.last),
            }
        if self.first is not None:
            return _("on or after %(first)s") % {"first": date_format(self.first)}
        if self.last is not None:
            return _("on or before %(last)s") % {"last": date_format(self.last)}
        return _("at any date the register records")


# A departure "at the end of" a period (members/dates.py) is stored as the first day after
# it: what it stands for is the period that ends the day before its stored date, [P, left_on).


def _end_within(field: str, precision: str, period: Period) -> Q:
    """The condition "the closed period of an "at the end of" date lies in the period"."""
    condition = Q()
    if period.last is not None:
        condition &= Q(**{f"{field}__lte": period.last + ONE_DAY})
    if period.first is not None:
        # The first whole period on or after `first` ends where a departure at its end is stored.
        boundary = stored_left_on(period.first - ONE_DAY, precision)
        condition &= Q(**{f"{field}__gte": stored_left_on(boundary, precision)})
    return condition


def _end_overlapping(field: str, precision: str, period: Period) -> Q:
    """The condition "the closed period of an "at the end of" date shares a day with the period"."""
    condition = Q()
    if period.first is not None:
        condition &= Q(**{f"{field}__gt": period.first})
    if period.last is not None:
        condition &= Q(**{f"{field}__lte": stored_left_on(period.last, precision)})
    return condition


def _within(field: str, precision_field: str, period: Period) -> Q:
    """The condition "the whole of what the date stands for lies in the period"."""
    if period.is_open:
        return Q()
    parts = []
    for precision in DatePrecision.values:
        condition = Q(**{precision_field: precision})
        if precision in END_PRECISIONS:
            parts.append(condition & _end_within(field, precision, period))
            continue
        if period.first is not None:
            condition &= Q(**{f"{field}__gte": period.first})
        if period.last is not None:
            if precision in (DatePrecision.DAY, DatePrecision.BY):
                condition &= Q(**{f"{field}__lte": period.last})
            else:
                # The periods of this precision that end on or before `last` are those that
                # start before the one holding the next day.
                following = start_of_period(period.last + datetime.timedelta(days=1), precision)
                condition &= Q(**{f"{field}__lt": following})
        parts.append(condition)
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


def _overlapping(field: str, precision_field: str, period: Period) -> Q:
    """The condition "what the date stands for shares at least a day with the period"."""
    if period.is_open:
        return Q()
    parts = []
    for precision in DatePrecision.values:
        condition = Q(**{precision_field: precision})
        if precision in END_PRECISIONS:
            parts.append(condition & _end_overlapping(field, precision, period))
            continue
        if period.last is not None:
            condition &= Q(**{f"{field}__lte": period.last})
        if period.first is not None:
            if precision in (DatePrecision.DAY, DatePrecision.BY):
                condition &= Q(**{f"{field}__gte": period.first})
            else:
                condition &= Q(**{f"{field}__gte": start_of_period(period.first, precision)})
        parts.append(condition)
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


def news_memberships(federation: Organisation | None = None) -> MembershipQuerySet:
    """Return the memberships whose events are news (not regional links), of the federation if given."""
    memberships = Membership.objects.counted()
    if federation is not None:
        memberships = memberships.filter(federation=federation)
    return memberships


def joins_q(period: Period) -> Q:
    """Return the condition "a join in the period" (members/rules.py's join, wholly in the period)."""
    return join_event_q() & _within("joined_on", "joined_precision", period)


def departures_q(period: Period) -> Q:
    """Return the condition "a departure in the period"."""
    return Q(left_on__isnull=False) & _within("left_on", "left_precision", period)


@dataclass(frozen=True)
class NewsCounts:
    """How many joined and left in a period, and how many are known too loosely to place in it."""

    joins: int
    joining_members: int
    departures: int
    leaving_members: int
    imprecise_joins: int
    imprecise_departures: int


def counts(period: Period, federation: Organisation | None = None) -> NewsCounts:
    """Return the period's counts (one query)."""
    imprecise_joins = (
        join_event_q() & _overlapping("joined_on", "joined_precision", period) & ~joins_q(period)
    )
    imprecise_departures = (
        Q(left_on__isnull=False) & _overlapping("left_on", "left_precision", period) & ~departures_q(period)
    )
    if period.is_open:
        imprecise_joins = imprecise_departures = Q(pk__in=[])
    row = news_memberships(federation).aggregate(
        joins=Count("pk", filter=joins_q(period)),
        joining_members=Count("member", filter=joins_q(period), distinct=True),
        departures=Count("pk", filter=departures_q(period)),
        leaving_members=Count("member", filter=departures_q(period), distinct=True),
        imprecise_joins=Count("pk", filter=imprecise_joins),
        imprecise_departures=Count("pk", filter=imprecise_departures),
    )
    return NewsCounts(**row)


def event_rows(
    period: Period, federation: Organisation | None = None, kind: str = ""
) -> QuerySet[Membership, tuple[int, str, datetime.date]]:
    """Return (membership id, "joined" or "left", day) rows of the period's events, newest first.

    On one day a departure comes before a join, and a later record before an
    earlier one, as in the feeds. Sliced, the database cuts the page.
    """
    # No ordering inside the UNION (the model's default would be one): the whole is ordered.
    memberships = news_memberships(federation).order_by()
    joins = (
        memberships.filter(joins_q(period))
        .annotate(kind=Value("joined", output_field=CharField()), day=F("joined_on"))
        .values_list("pk", "kind", "day")
    )
    departures = (
        memberships.filter(departures_q(period))
        .annotate(kind=Value("left", output_field=CharField()), day=F("left_on"))
        .values_list("pk", "kind", "day")
    )
    if kind == "joined":
        rows = joins
    elif kind == "left":
        rows = departures
    else:
        rows = joins.union(departures, all=True)
    return rows.order_by("-day", "-kind", "-pk")


def events_for(rows: list[tuple[int, str, datetime.date]]) -> list[MembershipEvent]:
    """Return the events of these rows in their order, their memberships read in one query."""
    memberships = Membership.objects.select_related("member", "federation", "source").in_bulk(
        [pk for pk, _kind, _day in rows]
    )
    return [
        MembershipEvent(memberships[pk], "joined" if kind == "joined" else "left") for pk, kind, _day in rows
    ]


def summary(
    counts: NewsCounts, period: Period, federation: Organisation | None = None, kind: str = ""
) -> list[str]:
    """Return the sentences that say what the period's news add up to (in the active language)."""
    values = {"period": period.phrase, "federation": federation.short_name if federation else ""}
    sentences = []
    if kind in ("", "joined"):
        n = counts.joining_members
        if n == 0:
            text = (
                _("No member joined %(federation)s %(period)s.")
                if federation is not None
                else _("No organisation joined a federation %(period)s.")
            )
        elif federation is not None:
            text = ngettext(
                "%(count)s member joined %(federation)s %(period)s.",
                "%(count)s members joined %(federation)s %(period)s.",
                n,
            )
        else:
            text = ngettext(
                "%(count)s organisation joined a federation %(period)s.",
                "%(count)s organisations joined federations %(period)s.",
                n,
            )
        sentences.append(text % {**values, "count": intcomma(n)})
        if counts.joins > n:
            sentences.append(
                ngettext(
                    "Some joined more than one: %(count)s join in all.",
                    "Some joined more than one: %(count)s joins in all.",
                    counts.joins,
                )
                % {"count": intcomma(counts.joins)}
            )
    if kind in ("", "left"):
        n = counts.leaving_members
        if n == 0:
            text = (
                _("No member left %(federation)s %(period)s.")
                if federation is not None
                else _("No organisation left a federation %(period)s.")
            )
        elif federation is not None:
            text = ngettext(
                "%(count)s member left %(federation)s %(period)s.",
                "%(count)s members left %(federation)s %(period)s.",
                n,
            )
        else:
            text = ngettext(
                "%(count)s organisation left a federation %(period)s.",
                "%(count)s organisations left federations %(period)s.",
                n,
            )
        sentences.append(text % {**values, "count": intcomma(n)})
    imprecise = (counts.imprecise_joins if kind != "left" else 0) + (
        counts.imprecise_departures if kind != "joined" else 0
    )
    if imprecise:
        sentences.append(
            ngettext(
                "%(count)s further join or departure is known only to a longer period that overlaps "
                "this one, so it is neither counted nor listed here.",
                "%(count)s further joins and departures are known only to a longer period that overlaps "
                "this one, so they are neither counted nor listed here.",
                imprecise,
            )
            % {"count": intcomma(imprecise)}
        )
    return sentences
