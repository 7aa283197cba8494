"""Dates known only to a period: their precision, normalisation and display.

Historic joins are often known only to the month ("last May"), the half-year
("in the first semester") or the year. Such a date is stored as the first day
of its period, and "as of" questions treat it as happening on that day: a
member who joined "in May 2017" counts from 1 May 2017. A date known only as
"by" some day (a fact seen in a source of that date) is stored as that day.
"""

import datetime
from typing import overload

from django.db import models
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _


class DatePrecision(models.TextChoices):
    DAY = "day", _("Exact day")
    MONTH = "month", _("Known to the month")
    HALF_YEAR = "half", _("Known to the half-year")
    YEAR = "year", _("Known to the year")
    BY = "by", _("Known only to have happened by this date")


@overload
def start_of_period(value: datetime.date, precision: str) -> datetime.date: ...
@overload
def start_of_period(value: datetime.date | None, precision: str) -> datetime.date | None: ...
def start_of_period(value: datetime.date | None, precision: str) -> datetime.date | None:
    """Return the first day of the period a date stands for at its precision."""
    if value is None:
        return None
    if precision == DatePrecision.MONTH:
        return value.replace(day=1)
    if precision == DatePrecision.HALF_YEAR:
        return datetime.date(value.year, 1 if value.month <= 6 else 7, 1)
    if precision == DatePrecision.YEAR:
        return datetime.date(value.year, 1, 1)
    return value


def format_at_precision(value: datetime.date | None, precision: str) -> str:
    """Return the date as a reader should see it: "21 June 2017", "May 2017", "2017"."""
    if value is None:
        return ""
    if precision == DatePrecision.MONTH:
        return date_format(value, "YEAR_MONTH_FORMAT")
    if precision == DatePrecision.HALF_YEAR:
        if value.month <= 6:
            return _("first half of %(year)s") % {"year": value.year}
        return _("second half of %(year)s") % {"year": value.year}
    if precision == DatePrecision.YEAR:
        return str(value.year)
    if precision == DatePrecision.BY:
        return _("by %(date)s") % {"date": date_format(value, "DATE_FORMAT")}
    return date_format(value, "DATE_FORMAT")


def reduced_iso(value: datetime.date, precision: str) -> str | None:
    """The date in ISO 8601 reduced to what is known: "2017-06-21", "2017-05", "2017" (half-year and year).

    ISO 8601 has no reduced form for a half-year: it is its year. A date known
    only "by" a day is no date of the event at all: None.
    """
    if precision == DatePrecision.BY:
        return None
    if precision == DatePrecision.MONTH:
        return f"{value.year:04d}-{value.month:02d}"
    if precision in (DatePrecision.HALF_YEAR, DatePrecision.YEAR):
        return f"{value.year:04d}"
    return value.isoformat()
