"""Dates as people write them in a spreadsheet, read with their precision.

parse_start() reads a membership's start: "21/06/2017" (day first), "2017-06-21",
"June 2017", "juin 2017", "mayo de 2017", "2017", "first half of 2017", "H1 2017",
"1er semestre 2017", "primer semestre de 2017", and "by 2019" / "attested 2019"
(a start only attested by then: precision BY, stored as the last day of that
period, so that it is never counted before the source saw it).
parse_end() reads a departure, and also "end of 2022", "fin 2022",
"finales de 2022" (known only to have happened at the end of that period).
A spreadsheet's own date cell (a datetime) is a day. Every message is in the
user's language; the tables are the only place the words are listed.
"""

from __future__ import annotations

import calendar
import datetime
import re

from django.utils.translation import gettext as _

from members.dates import DatePrecision
from members.rules import YEAR_MAX, YEAR_MIN, fold

# The precision of a departure known only "at the end of" a period, by the period's own:
# written as the period's last day, stored as the day after (members/dates.py's stored_left_on).
END_OF_PERIOD: dict[str, str] = {
    DatePrecision.MONTH: DatePrecision.END_MONTH,
    DatePrecision.HALF_YEAR: DatePrecision.END_HALF_YEAR,
    DatePrecision.YEAR: DatePrecision.END_YEAR,
}

MONTHS = {
    # English, French, Spanish; full names and the usual abbreviations (folded, no dot).
    1: ("january", "jan", "janvier", "janv", "enero", "ene"),
    2: ("february", "feb", "fevrier", "fevr", "fev", "febrero"),
    3: ("march", "mar", "mars", "marzo"),
    4: ("april", "apr", "avril", "avr", "abril", "abr"),
    5: ("may", "mai", "mayo"),
    6: ("june", "jun", "juin", "junio"),
    7: ("july", "jul", "juillet", "juil", "julio"),
    8: ("august", "aug", "aout", "agosto", "ago"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "setiembre"),
    10: ("october", "oct", "octobre", "octubre"),
    11: ("november", "nov", "novembre", "noviembre"),
    12: ("december", "dec", "decembre", "diciembre", "dic"),
}
_MONTH_OF = {word: number for number, words in MONTHS.items() for word in words}

# The words of a half-year: "first half of", "H1", "1er semestre", "primer semestre de".
_FIRST = r"(?:first|1st|1|premier|1er|1re|primer|primero|1o|1er)"
_SECOND = r"(?:second|2nd|2|deuxieme|2e|2eme|second|seconde|segundo|2o)"
_HALF_WORD = r"(?:half|half year|semester|semestre)"
# Words that say "known only by then" and "at the end of"; folded, punctuation removed.
BY_WORDS = (
    "by",
    "attested",
    "attested in",
    "member by",
    "as of",
    "atteste",
    "attestee",
    "atteste en",
    "au plus tard en",
    "au plus tard",
    "constate en",
    "atestiguado",
    "atestiguado en",
    "a mas tardar en",
    "a mas tardar",
    "ya en",
)
END_WORDS = (
    "end of",
    "end",
    "the end of",
    "at the end of",
    "late",
    "fin",
    "fin de",
    "fin d",
    "a la fin de",
    "a la fin d",
    "finales de",
    "fines de",
    "a finales de",
    "a fines de",
    "final de",
)
_CONNECTORS = {"de", "del", "of", "in", "en", "le", "el", "the"}


class DateFormatError(ValueError):
    """A cell that is not a date in any form the import reads; its message is for the member of staff."""


def _error(value: str) -> DateFormatError:
    return DateFormatError(
        _(
            "“%(value)s” is not a date the import reads. Write it as 21/06/2017 (day first), "
            "2017-06-21, June 2017, 2017 or first half of 2017."
        )
        % {"value": value}
    )


def _normalise(value: str) -> str:
    # Folded, "1er" kept, everything but letters, digits, / - . turned into spaces.
    text = fold(value).replace("’", "'")
    text = re.sub(r"[^a-z0-9/.\-]+", " ", text)
    text = re.sub(r"(?<=[a-z])\.", " ", text)  # "janv. 2017", "sept."
    return " ".join(text.split())


def _year(text: str) -> int | None:
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        if YEAR_MIN <= year <= YEAR_MAX:
            return year
    return None


def _day(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _without_connectors(words: list[str]) -> list[str]:
    return [word for word in words if word not in _CONNECTORS]


def _read(text: str) -> tuple[datetime.date, str] | None:
    """A date and its precision (the first day of the period), from normalised text; None if not one."""
    year = _year(text)
    if year is not None:
        return datetime.date(year, 1, 1), DatePrecision.YEAR
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)  # ISO, year first
    if match:
        day = _day(int(match[1]), int(match[2]), int(match[3]))
        return (day, DatePrecision.DAY) if day else None
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    if match and 1 <= int(match[2]) <= 12:
        return datetime.date(int(match[1]), int(match[2]), 1), DatePrecision.MONTH
    match = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text)  # day first
    if match:
        day = _day(int(match[3]), int(match[2]), int(match[1]))
        return (day, DatePrecision.DAY) if day else None
    match = re.fullmatch(r"(\d{1,2})[/.\-](\d{4})", text)
    if match and 1 <= int(match[1]) <= 12:
        return datetime.date(int(match[2]), int(match[1]), 1), DatePrecision.MONTH
    half = _half(text)
    if half:
        return half
    words = _without_connectors(text.replace("/", " ").replace("-", " ").split())
    if len(words) == 2 and words[0] in _MONTH_OF and _year(words[1]):  # "May 2017", "mayo de 2017"
        return datetime.date(int(words[1]), _MONTH_OF[words[0]], 1), DatePrecision.MONTH
    if len(words) == 3:
        # "21 June 2017", "21 de junio de 2017", "1er mai 2017", "June 21 2017"
        first, second, third = words
        first = first.removesuffix("er").removesuffix("st").removesuffix("nd").removesuffix("th")
        year = _year(third)
        if year and first.isdigit() and second in _MONTH_OF:
            day = _day(year, _MONTH_OF[second], int(first))
            return (day, DatePrecision.DAY) if day else None
        second = second.removesuffix("st").removesuffix("nd").removesuffix("rd").removesuffix("th")
        if year and words[0] in _MONTH_OF and second.isdigit():
            day = _day(year, _MONTH_OF[words[0]], int(second))
            return (day, DatePrecision.DAY) if day else None
    return None


_HALVES = (
    (re.compile(rf"(?:{_FIRST} {_HALF_WORD}|h1|s1|1h|1s)(?: of| de| del)? (\d{{4}})"), 1),
    (re.compile(rf"(?:{_SECOND} {_HALF_WORD}|h2|s2|2h|2s)(?: of| de| del)? (\d{{4}})"), 7),
    (re.compile(r"(\d{4}) (?:h1|s1)"), 1),
    (re.compile(r"(\d{4}) (?:h2|s2)"), 7),
)


def _half(text: str) -> tuple[datetime.date, str] | None:
    for pattern, month in _HALVES:
        match = pattern.fullmatch(text)
        if match and _year(match[1]):
            return datetime.date(int(match[1]), month, 1), DatePrecision.HALF_YEAR
    return None


def _strip_lead(text: str, words: tuple[str, ...]) -> str | None:
    for lead in sorted(words, key=len, reverse=True):
        if text.startswith(lead + " "):
            return text[len(lead) + 1 :]
    return None


def last_day(start: datetime.date, precision: str) -> datetime.date:
    """The last day of the period that starts on `start` at this precision."""
    if precision == DatePrecision.MONTH:
        return start.replace(day=calendar.monthrange(start.year, start.month)[1])
    if precision == DatePrecision.HALF_YEAR:
        return datetime.date(start.year, 6, 30) if start.month <= 6 else datetime.date(start.year, 12, 31)
    if precision == DatePrecision.YEAR:
        return datetime.date(start.year, 12, 31)
    return start


def _cell(value: str | datetime.date) -> tuple[datetime.date, str] | str:
    """A spreadsheet's date cell as a day; otherwise the normalised text."""
    if isinstance(value, datetime.datetime):
        return value.date(), DatePrecision.DAY
    if isinstance(value, datetime.date):
        return value, DatePrecision.DAY
    return _normalise(value)


def parse_start(value: str | datetime.date) -> tuple[datetime.date, str]:
    """Read a start: (first day of its period, precision), or (day seen, BY) for "by 2019"."""
    text = _cell(value)
    if isinstance(text, tuple):
        return text
    read = _read(text)
    if read:
        return read
    rest = _strip_lead(text, BY_WORDS)
    read = _read(rest) if rest else None
    if read:
        return last_day(*read), DatePrecision.BY
    raise _error(str(value))


def parse_end(value: str | datetime.date) -> tuple[datetime.date, str]:
    """Read a departure: as parse_start(), and "end of 2022" → (31 December 2022, END_OF_PERIOD[YEAR])."""
    text = _cell(value)
    if isinstance(text, tuple):
        return text
    read = _read(text)
    if read:
        return read
    rest = _strip_lead(text, END_WORDS)
    read = _read(rest) if rest else None
    if read and read[1] in END_OF_PERIOD:
        return last_day(*read), END_OF_PERIOD[read[1]]
    raise _error(str(value))
