"""Dates known only to a period: their precision, normalisation and display.

Historic joins are often known only to the month ("last May"), the half-year
("in the first semester") or the year. Such a date is stored as the first day
of its period, and "as of" questions treat it as happening on that day: a
member who joined "in May 2017" counts from 1 May 2017. A date known only as
"by" some day (a fact seen in a source of that date) is stored as that day.

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
