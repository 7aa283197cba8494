"""Reading an import file: size limit, header and cells, with every error.

read_file() turns the bytes into rows of parsed values and the errors of
single cells and of the file itself; members/csv_io/records.py turns the bytes
into records and says where a problem lies, and checking rows against each
other and the register is members/csv_io/planning.py's job.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from members.csv_io.columns import BY_HEADER, COLUMNS, HEADERS, TEXT, unneutralise
from members.csv_io.records import (
    Records,
    RowError,
    UnreadableFile,
    broken_record_error,
    column_letter,
    decode,
    sniff_delimiter,
    unclosed_quote_error,
)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def max_import_bytes() -> int:
    """The largest file import accepts: settings.MEMBERS_IMPORT_MAX_BYTES, 20 MB by default."""
    return getattr(settings, "MEMBERS_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


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
    except UnreadableFile as problem:
        return ParsedFile(errors=[problem.error], readable=False)
    records = Records(text, sniff_delimiter(text))
    parsed = ParsedFile()
    header: list[str] = []
    try:
        header = [name.strip() for name in next(records, [])]
        unclosed = unclosed_quote_error(records, [])
        if unclosed:  # the whole file was read as the header
            return ParsedFile(errors=[unclosed], readable=False)
        parsed.errors = _header_errors(header)
        if parsed.errors:
            parsed.readable = False
            return parsed
        parsed.columns = set(header)
        parsed.rows = _parse_rows(records, header, parsed.errors)
    except csv.Error:
        parsed.errors.append(broken_record_error(records, header))
        parsed.readable = False
        return parsed
    unclosed = unclosed_quote_error(records, header) if records.row > 1 else None
    if unclosed:
        # The other errors of that row come from everything it swallowed.
        parsed.errors = [e for e in parsed.errors if e.row != unclosed.row] + [unclosed]
        parsed.readable = False
    elif not parsed.rows and not parsed.errors:
        parsed.errors.append(RowError(None, "", _("The file has a header but no rows.")))
    return parsed


def _header_errors(header: list[str]) -> list[RowError]:
    if not any(header):
        return [RowError(1, "", _("The file is empty: the first row must name the columns."))]
    errors = []
    seen = set()
    for index, name in enumerate(header):
        if "\x00" in name:
            # Not also "unknown" and, when the rest is a column's name, "missing" as well.
            name = name.replace("\x00", "").strip()
            message = _(
                "The name of this column holds a NUL character (invisible, and never in a CSV file "
                "a spreadsheet writes). Type the name again."
            )
            errors.append(RowError(1, name, message, letter="" if name else column_letter(index)))
        elif name not in BY_HEADER:
            message = _("Unknown column. The accepted columns are: %(columns)s.") % {
                "columns": ", ".join(HEADERS)
            }
            errors.append(RowError(1, name, message, letter="" if name else column_letter(index)))
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


def _parse_rows(records: Records, headers: list[str], errors: list[RowError]) -> list[Row]:
    rows = []
    columns = [BY_HEADER[name] for name in headers]
    specs = [(c.header, c.parse, c.cell == TEXT, c.required) for c in columns]
    for record in records:
        number = records.row
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
