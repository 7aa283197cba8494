"""Dates known only to a period: their precision, normalisation and display.

Historic joins are often known only to the month ("last May"), the half-year
("in the first semester") or the year. Such a date is stored as the first day
of its period, and "as of" questions treat it as happening on that day: a
member who joined "in May 2017" counts from 1 May 2017. A start known only as
attested by a source ("member by" the source's date, precision BY) is stored
as that day: the member counts from it, but nobody knows when it joined.

A departure may also be known only as "at the end of" a month, half-year or
year ("ULCCS left at the end of 2022"). The member counts through the
period's last day, so the stored `left_on` (the first day it no longer counts)
is the day after: 1 January 2023 for "at the end of 2022". The one rule
"current on D" (members/rules.py) then needs no exception. People enter such
a date as any day of its period (2022-12-31, or 2022-06-15, with precision
"at the end of the year"); `stored_left_on()` turns what they enter into what
is stored, and `entered_left_on()` gives back the period's last day, the form
in which forms, files and open data write it.

Days are written as each language writes them: French says "1er décembre"
for the first of a month (`format_date`), and a period's preposition agrees
with the form of its date ("du 23 juin 2023", "de mai 2017"; `format_from`,
`format_until`, `format_since`), so no sentence glues a fixed "de" in front
of whatever date it is given.
"""

import datetime
from typing import overload

from django.db import models
from django.utils import formats
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext_lazy as _

ONE_DAY = datetime.timedelta(days=1)

# The first day of a month where a language writes it as an ordinal ("1er décembre 2026").
FIRST_OF_MONTH_FORMATS = {"fr": r"j\e\r F Y"}


def format_date(value: datetime.date) -> str:
    """Return the day in the active language's long form: "1 December 2026", "1er décembre 2026"."""
    language = (get_language() or "").split("-")[0]
    if value.day == 1 and language in FIRST_OF_MONTH_FORMATS:
        return formats.date_format(value, FIRST_OF_MONTH_FORMATS[language])
    return formats.date_format(value, "DATE_FORMAT")


def date_format(value: datetime.date, format: str = "DATE_FORMAT") -> str:
    """Django's date_format, with the first-of-month rule for the long form (format_date)."""
    if format == "DATE_FORMAT":
        return format_date(value)
    return formats.date_format(value, format)


class DatePrecision(models.TextChoices):
    DAY = "day", _("Exact day")
    MONTH = "month", _("Known to the month")
    HALF_YEAR = "half", _("Known to the half-year")
    YEAR = "year", _("Known to the year")
    BY = "by", _("Attested by a source on this date (start not known)")
    END_MONTH = "end_month", _("At the end of the month")
    END_HALF_YEAR = "end_half", _("At the end of the half-year")
    END_YEAR = "end_year", _("At the end of the year")


# What each date of a membership may be known as. "At the end of" is a departure's only;
# a departure known "by" a date is one a source of that date attests (no longer listed).
JOINED_PRECISIONS = [
    (DatePrecision.DAY.value, DatePrecision.DAY.label),
    (DatePrecision.MONTH.value, DatePrecision.MONTH.label),
    (DatePrecision.HALF_YEAR.value, DatePrecision.HALF_YEAR.label),
    (DatePrecision.YEAR.value, DatePrecision.YEAR.label),
    (DatePrecision.BY.value, DatePrecision.BY.label),
]
LEFT_PRECISIONS = [
    (DatePrecision.DAY.value, DatePrecision.DAY.label),
    (DatePrecision.END_MONTH.value, DatePrecision.END_MONTH.label),
    (DatePrecision.END_HALF_YEAR.value, DatePrecision.END_HALF_YEAR.label),
    (DatePrecision.END_YEAR.value, DatePrecision.END_YEAR.label),
    (DatePrecision.MONTH.value, _("During the month (counted from its first day)")),
    (DatePrecision.HALF_YEAR.value, _("During the half-year (counted from its first day)")),
    (DatePrecision.YEAR.value, _("During the year (counted from its first day)")),
    (DatePrecision.BY.value, _("Known only to have left by this date")),
]
END_PRECISIONS = (DatePrecision.END_MONTH, DatePrecision.END_HALF_YEAR, DatePrecision.END_YEAR)
# The period an "at the end of" precision closes, as the precision of its first day.
_PERIOD_OF_END: dict[str, str] = {
    DatePrecision.END_MONTH: DatePrecision.MONTH,
    DatePrecision.END_HALF_YEAR: DatePrecision.HALF_YEAR,
    DatePrecision.END_YEAR: DatePrecision.YEAR,
}


@overload
def start_of_period(value: datetime.date, precision: str) -> datetime.date: ...
@overload
def start_of_period(value: datetime.date | None, precision: str) -> datetime.date | None: ...
def start_of_period(value: datetime.date | None, precision: str) -> datetime.date | None:
    """Return the first day of the period a date stands for at its precision."""
    if value is None:
        return None
    precision = _PERIOD_OF_END.get(precision, precision)
    if precision == DatePrecision.MONTH:
        return value.replace(day=1)
    if precision == DatePrecision.HALF_YEAR:
        return datetime.date(value.year, 1 if value.month <= 6 else 7, 1)
    if precision == DatePrecision.YEAR:
        return datetime.date(value.year, 1, 1)
    return value


def _start_of_next_period(value: datetime.date, precision: str) -> datetime.date:
    first = start_of_period(value, precision)
    period = _PERIOD_OF_END[precision]
    if period == DatePrecision.MONTH:
        return datetime.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    if period == DatePrecision.HALF_YEAR:
        return datetime.date(first.year, 7, 1) if first.month == 1 else datetime.date(first.year + 1, 1, 1)
    return datetime.date(first.year + 1, 1, 1)


def stored_joined_on(
    value: datetime.date | None, precision: str, attested_on: datetime.date | None = None
) -> datetime.date | None:
    """Return the joined_on to store for a start entered as (date, precision).

    A start attested by a source (BY) given without a date takes `attested_on`:
    the source's date, or, when the source has none, the day of entry (the caller
    passes it). Other dates are stored as the first day of their period.
    """
    if value is None and precision == DatePrecision.BY:
        return attested_on
    return start_of_period(value, precision)


@overload
def stored_left_on(value: datetime.date, precision: str) -> datetime.date: ...
@overload
def stored_left_on(value: datetime.date | None, precision: str) -> datetime.date | None: ...
def stored_left_on(value: datetime.date | None, precision: str) -> datetime.date | None:
    """Return the left_on to store (the first day not counted) for a departure entered as (date, precision).

    "At the end of" a period, entered as any day of it: the day after the period
    (2022-06-15 at the end of the year → 2023-01-01). A departure during a period:
    its first day. A departure on a day, or by a day: that day.
    """
    if value is None:
        return None
    if precision in END_PRECISIONS:
        return _start_of_next_period(value, precision)
    return start_of_period(value, precision)


@overload
def entered_left_on(left_on: datetime.date, precision: str) -> datetime.date: ...
@overload
def entered_left_on(left_on: datetime.date | None, precision: str) -> datetime.date | None: ...
def entered_left_on(left_on: datetime.date | None, precision: str) -> datetime.date | None:
    """Return a stored left_on as people enter and read it: the last day counted for "at the end of".

    `stored_left_on(entered_left_on(d, p), p) == d` for every stored d.
    """
    if left_on is None or precision not in END_PRECISIONS:
        return left_on
    return left_on - ONE_DAY


def normalised_left_on(left_on: datetime.date | None, precision: str) -> datetime.date | None:
    """Return a left_on taken as stored, moved to its period's boundary (what Membership.clean() keeps).

    A stored value is unchanged; any other day stops counting at the next boundary.
    """
    return stored_left_on(entered_left_on(left_on, precision), precision)


def departure_day(left_on: datetime.date, precision: str) -> datetime.date:
    """Return the day a departure is dated and counted in (the year of the growth series, the feed's date).

    The last day counted for "at the end of" (31 December 2022), the stored day otherwise.
    """
    return entered_left_on(left_on, precision)


def _period_display(value: datetime.date, precision: str) -> str:
    if precision == DatePrecision.MONTH:
        return date_format(value, "YEAR_MONTH_FORMAT")
    if precision == DatePrecision.HALF_YEAR:
        if value.month <= 6:
            return _("first half of %(year)s") % {"year": value.year}
        return _("second half of %(year)s") % {"year": value.year}
    if precision == DatePrecision.YEAR:
        return str(value.year)
    return date_format(value, "DATE_FORMAT")


def format_at_precision(value: datetime.date | None, precision: str) -> str:
    """Return the date as a reader should see it: "21 June 2017", "May 2017", "2017", "by 21 June 2017"."""
    if value is None:
        return ""
    if precision == DatePrecision.BY:
        return _("by %(date)s") % {"date": date_format(value, "DATE_FORMAT")}
    if precision in END_PRECISIONS:
        return format_left(value, precision)
    return _period_display(value, precision)


def format_joined(value: datetime.date | None, precision: str) -> str:
    """Return a start as a reader should see it; one only attested is "not known (attested 21 June 2017)"."""
    if value is not None and precision == DatePrecision.BY:
        return _("not known (attested %(date)s)") % {"date": date_format(value, "DATE_FORMAT")}
    return format_at_precision(value, precision)


def format_left(left_on: datetime.date | None, precision: str) -> str:
    """Return a stored departure as a reader should see it: "at the end of 2022" for one stored 2023-01-01."""
    if left_on is None:
        return ""
    if precision not in END_PRECISIONS:
        return format_at_precision(left_on, precision)
    last_day = left_on - ONE_DAY
    if precision == DatePrecision.END_MONTH:
        return _("at the end of %(month)s") % {"month": date_format(last_day, "YEAR_MONTH_FORMAT")}
    if precision == DatePrecision.END_HALF_YEAR:
        if last_day.month <= 6:
            return _("at the end of the first half of %(year)s") % {"year": last_day.year}
        return _("at the end of the second half of %(year)s") % {"year": last_day.year}
    return _("at the end of %(year)s") % {"year": last_day.year}


def reduced_iso(value: datetime.date, precision: str) -> str | None:
    """The date in ISO 8601 reduced to what is known: "2017-06-21", "2017-05", "2017" (half-year and year).

    ISO 8601 has no reduced form for a half-year: it is its year. A date known
    only "by" a day is no date of the event at all: None. A departure "at the
    end of" a period is given (as people read it, `entered_left_on`) as a day
    of that period: its reduced form is the period's.
    """
    if precision == DatePrecision.BY:
        return None
    if precision in (DatePrecision.MONTH, DatePrecision.END_MONTH):
        return f"{value.year:04d}-{value.month:02d}"
    if precision in (
        DatePrecision.HALF_YEAR,
        DatePrecision.YEAR,
        DatePrecision.END_HALF_YEAR,
        DatePrecision.END_YEAR,
    ):
        return f"{value.year:04d}"
    return value.isoformat()


def _with_preposition(forms: dict[str, str], value: datetime.date | None, precision: str) -> str:
    if value is None:
        return ""
    date = date_format(value) if precision == DatePrecision.BY else format_at_precision(value, precision)
    return forms.get(precision, forms[DatePrecision.DAY]) % {"date": date}


def format_from(value: datetime.date | None, precision: str) -> str:
    """Return the start of a span: "from 23 June 2023" ("du 23 juin 2023", "de mai 2017")."""
    # Each language's preposition depends on the form of the date: French and
    # Spanish put an article before a day or a half-year ("du", "del"), not
    # before a month or a year ("de").
    forms: dict[str, str] = {
        DatePrecision.DAY: pgettext("span starting on a day", "from %(date)s"),
        DatePrecision.MONTH: pgettext("span starting in a month", "from %(date)s"),
        DatePrecision.HALF_YEAR: pgettext("span starting in a half-year", "from the %(date)s"),
        DatePrecision.YEAR: pgettext("span starting in a year", "from %(date)s"),
        DatePrecision.BY: pgettext("span starting by a day at the latest", "from %(date)s at the latest"),
    }
    return _with_preposition(forms, value, precision)


def format_until(value: datetime.date | None, precision: str) -> str:
    """Return the end of a span: "until 1 January 2024" ("au 1er janvier 2024", "à juin 2024")."""
    forms: dict[str, str] = {
        DatePrecision.DAY: pgettext("span ending on a day", "until %(date)s"),
        DatePrecision.MONTH: pgettext("span ending in a month", "until %(date)s"),
        DatePrecision.HALF_YEAR: pgettext("span ending in a half-year", "until the %(date)s"),
        DatePrecision.YEAR: pgettext("span ending in a year", "until %(date)s"),
        DatePrecision.BY: pgettext("span ending by a day at the latest", "until %(date)s at the latest"),
    }
    return _with_preposition(forms, value, precision)


def format_since(value: datetime.date | None, precision: str) -> str:
    """Return an open span's start: "from 23 June 2023" ("à partir du 23 juin 2023", "à partir de 2017")."""
    forms: dict[str, str] = {
        DatePrecision.DAY: pgettext("open span starting on a day", "from %(date)s"),
        DatePrecision.MONTH: pgettext("open span starting in a month", "from %(date)s"),
        DatePrecision.HALF_YEAR: pgettext("open span starting in a half-year", "from the %(date)s"),
        DatePrecision.YEAR: pgettext("open span starting in a year", "from %(date)s"),
        DatePrecision.BY: pgettext(
            "open span starting by a day at the latest", "from %(date)s at the latest"
        ),
    }
    return _with_preposition(forms, value, precision)
