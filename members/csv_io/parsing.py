"""Reading an import file: size limit, encoding, delimiter, header and cells, with every error.

read_file() turns the bytes into rows of parsed values and the errors of
single cells and of the file itself; checking rows against each other and
the register is members/csv_io/planning.py's job.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from members.csv_io.columns import BY_HEADER, COLUMNS, HEADERS, TEXT, unneutralise

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# A line of the file: split on "\n" only, as csv expects with newline="".
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def max_import_bytes() -> int:
    """The largest file import accepts: settings.MEMBERS_IMPORT_MAX_BYTES, 20 MB by default."""
    return getattr(settings, "MEMBERS_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def row_label(number: int) -> str:
    """Return "row 5", as errors name a row of the file."""
    return _("row %(row)d") % {"row": number}


@dataclass(frozen=True)
class RowError:
    """A problem in the file: its row (the header is row 1, as a spreadsheet counts), column and message."""

    row: int | None
    column: str
    message: str

    def __str__(self) -> str:
        where = []
        if self.row:
            where.append(row_label(self.row))
        if self.column:
            where.append(_("column “%(column)s”") % {"column": self.column})
        return f"{', '.join(where)}: {self.message}" if where else self.message


class Row:
    """One row of the file: its number and its parsed cells (header -> value; empty cells left out)."""

    __slots__ = ("number", "values")

    def __init__(self, number: int) -> None:
        self.number = number
        self.values: dict[str, Any] = {}


@dataclass
class ParsedFile:
    """What reading a file gave: its rows, the columns it has, and the errors found so far.

    `readable` is False when the file could not be read to the end (too
    large, not UTF-8, a bad header, broken CSV): then its rows are not
    checked any further.
    """

    rows: list[Row] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)
    errors: list[RowError] = field(default_factory=list)
    readable: bool = True


def decode(data: bytes) -> str:
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


def sniff_delimiter(text: str) -> str:
    """Comma or semicolon, whichever separates the header's names (no header contains either)."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def too_large_error(size: int) -> RowError:
    """The error for a file of this many bytes, over the limit."""
    return RowError(
        None,
        "",
        _("The file is %(size)s; the largest file accepted is %(limit)s. Split it and import each part.")
        % {"size": filesizeformat(size), "limit": filesizeformat(max_import_bytes())},
    )


def read_file(data: bytes) -> ParsedFile:
    """Read a whole file (bytes): its rows with their cells parsed, and every error of the file or a cell."""
    if len(data) > max_import_bytes():
        return ParsedFile(errors=[too_large_error(len(data))], readable=False)
    try:
        text = decode(data)
    except ValueError as error:
        return ParsedFile(errors=[RowError(None, "", str(error))], readable=False)
    # Lines read lazily: a StringIO would hold a second, wider copy of the whole file.
    lines = (match.group() for match in _LINE.finditer(text))
    reader = csv.reader(lines, delimiter=sniff_delimiter(text))
    parsed = ParsedFile()
    try:
        header = [name.strip() for name in next(reader, [])]
        parsed.errors = _header_errors(header)
        if parsed.errors:
            parsed.readable = False
            return parsed
        parsed.columns = set(header)
        parsed.rows = _parse_rows(reader, header, parsed.errors)
    except csv.Error as error:
        message = _("The file is not valid CSV: %(error)s") % {"error": error}
        parsed.errors.append(RowError(reader.line_num, "", message))
        parsed.readable = False
        return parsed
    if not parsed.rows and not parsed.errors:
        parsed.errors.append(RowError(None, "", _("The file has a header but no rows.")))
    return parsed


def _header_errors(header: list[str]) -> list[RowError]:
    if not any(header):
        return [RowError(1, "", _("The file is empty: the first row must name the columns."))]
    errors = []
    seen = set()
    for name in header:
        if name not in BY_HEADER:
            message = _("Unknown column. The accepted columns are: %(columns)s.") % {
                "columns": ", ".join(HEADERS)
            }
            errors.append(RowError(1, name, message))
        elif name in seen:
            errors.append(RowError(1, name, _("This column appears twice.")))
        seen.add(name)
    required = [c.header for c in COLUMNS if c.required]
    if "federation" in seen:
        required.append("joined_on")
    errors += [
        RowError(1, name, _("This column is required and missing.")) for name in required if name not in seen
    ]
    return errors


def _parse_rows(reader: Iterator[list[str]], headers: list[str], errors: list[RowError]) -> list[Row]:
    rows = []
    columns = [BY_HEADER[name] for name in headers]
    specs = [(c.header, c.parse, c.cell == TEXT, c.required) for c in columns]
    for index, record in enumerate(reader):
        number = index + 2
        if not "".join(record).strip():
            continue
        if len(record) != len(columns):
            message = _("This row has %(cells)d cells; the header has %(columns)d.") % {
                "cells": len(record),
                "columns": len(columns),
            }
            errors.append(RowError(number, "", message))
            continue
        row = Row(number)
        values = row.values
        for (header, parse, is_text, required), cell in zip(specs, record, strict=True):
            value = cell.strip()
            if not value:
                # Empty cells are not stored (values.get() gives None): large files stay smaller.
                if required:
                    errors.append(RowError(number, header, _("This cell is required.")))
                continue
            if is_text and value[0] == "'":
                value = unneutralise(value)
            try:
                values[header] = parse(value)
            except ValueError as error:
                errors.append(RowError(number, header, str(error)))
        rows.append(row)
    return rows
