"""Reading an import file: size limit, format, header and cells, with every error.

read_file() turns the bytes of a CSV file or an XLSX workbook into rows of
parsed values, the errors of single cells and of the file itself, and
warnings; members/csv_io/records.py turns CSV bytes into records and says
where a problem lies, members/csv_io/workbook.py reads a workbook's first
sheet, and checking rows against each other and the register is
members/csv_io/planning.py's job.

The header is matched forgivingly (columns.match_header: case, accents,
spacing, punctuation, synonyms in three languages) and it may sit below a
title row. Options (a JSON-serialisable dict, see ImportOptions) say what a
member of staff chose in the mapping step: the column each unmatched header
stands for, or that it is ignored, and the defaults for missing columns.
Every error is found in one pass: an unknown column does not stop the cells
of the others being checked.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from members.csv_io.columns import BY_HEADER, COLUMNS, DATE, HEADERS, TEXT, match_header, unneutralise
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
from members.csv_io.workbook import is_workbook, workbook_rows

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
    warnings: list[RowError] = field(default_factory=list)
    readable: bool = True
    # The file's headers as written, and the column each stands for ("" when ignored, None unknown).
    headers: list[str] = field(default_factory=list)
    matched: dict[str, str | None] = field(default_factory=dict)
    # Each column's name as the file writes it, for messages.
    column_names: dict[str, str] = field(default_factory=dict)
    # The defaults the options set for missing columns, parsed.
    defaults: dict[str, Any] = field(default_factory=dict)


class ImportOptions(TypedDict, total=False):
    """What the mapping step chose; stored as JSON in the session and in the remembered mapping.

    mapping: a file's header as written → a column's header, or "" to ignore it.
    defaults: a column's header → the value (as a person types it) for every row that has none.
    format: "csv" or "xlsx".
    """

    mapping: dict[str, str]
    defaults: dict[str, str]
    format: str


# The columns the mapping step offers defaults for: the same value for every row.
DEFAULTABLE = ("kind", "country", "federation", "category", "source_url", "source_title")
# How many rows from the top may hold titles above the header.
HEADER_SEARCH_ROWS = 10


def too_large_error(size: int) -> RowError:
    """The error for a file of this many bytes, over the limit."""
    return RowError(
        None,
        "",
        _("The file is %(size)s; the largest file accepted is %(limit)s. Split it and import each part.")
        % {"size": filesizeformat(size), "limit": filesizeformat(max_import_bytes())},
    )


def file_format(data: bytes) -> str:
    """ "xlsx" for a workbook, "csv" for anything else (which decode() then names if it is not CSV)."""
    return "xlsx" if is_workbook(data) else "csv"


Cell = str | datetime.date


def read_file(data: bytes, options: ImportOptions | None = None, header_only: bool = False) -> ParsedFile:
    """Read a whole file (bytes): its rows with their cells parsed, and every error of the file or a cell.

    With `header_only`, only the header is read (and the rows above it): what the mapping step needs.
    """
    options = options or {}
    if len(data) > max_import_bytes():
        return ParsedFile(errors=[too_large_error(len(data))], readable=False)
    if is_workbook(data):
        try:
            return _read_table(workbook_rows(data), options, pad=True, header_only=header_only)
        except UnreadableFile as problem:
            return ParsedFile(errors=[problem.error], readable=False)
    try:
        text = decode(data)
    except UnreadableFile as problem:
        return ParsedFile(errors=[problem.error], readable=False)
    records = Records(text, sniff_delimiter(text))

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        for record in records:
            yield records.row, list(record)

    header: list[str] = []  # filled in as soon as the header is read, for a later record's error
    try:
        parsed = _read_table(numbered(), options, seen_header=header, header_only=header_only)
    except csv.Error:
        return ParsedFile(errors=[broken_record_error(records, header)], readable=False)
    if records.row and records.row <= parsed.header_row:
        unclosed = unclosed_quote_error(records, [])
        if unclosed:  # the whole file was read as the header
            return ParsedFile(errors=[unclosed], readable=False)
    if header_only:
        return parsed
    unclosed = unclosed_quote_error(records, parsed.headers) if records.row > parsed.header_row else None
    if unclosed:
        # The other errors of that row come from everything it swallowed.
        parsed.errors = [e for e in parsed.errors if e.row != unclosed.row] + [unclosed]
        parsed.readable = False
    return parsed


@dataclass
class _Table(ParsedFile):
    header_row: int = 1


def _score(record: list[Cell], mapping: dict[str, str]) -> int:
    names = [cell.strip() for cell in record if isinstance(cell, str) and cell.strip()]
    return sum(1 for name in names if name in mapping or match_header(name))


def _read_table(
    numbered: Iterator[tuple[int, list[Cell]]],
    options: ImportOptions,
    pad: bool = False,
    seen_header: list[str] | None = None,
    header_only: bool = False,
) -> _Table:
    mapping = dict(options.get("mapping") or {})
    top: list[tuple[int, list[Cell]]] = []
    broken: csv.Error | None = None  # raised once the header is known, so that its error names the column
    try:
        for number, record in numbered:
            top.append((number, record))
            if len(top) >= HEADER_SEARCH_ROWS:
                break
    except csv.Error as error:
        broken = error
    parsed = _Table()
    filled = [(n, r) for n, r in top if any(_filled(c) for c in r)]
    if not filled:
        parsed.errors.append(RowError(1, "", _("The file is empty: the first row must name the columns.")))
        parsed.readable = False
        return parsed
    # The header is the first row that names the most known columns; rows above it are titles.
    best = max(_score(r, mapping) for _n, r in filled)
    number, record = next((n, r) for n, r in filled if _score(r, mapping) == best)
    parsed.header_row = number
    if number > 1:
        parsed.warnings.append(
            RowError(
                number,
                "",
                _("The columns are named in row %(row)d; the rows above it were read as titles and left out.")
                % {"row": number},
            )
        )
    header = [cell.strip() if isinstance(cell, str) else str(cell) for cell in record]
    parsed.headers = header
    if seen_header is not None:
        seen_header[:] = header
    if broken is not None and not header_only:
        raise broken
    columns = _header(parsed, header, mapping)
    _defaults(parsed, options.get("defaults") or {})
    if header_only:
        return parsed
    _required(parsed)
    rest = (item for item in top if item[0] > number)
    parsed.rows = _parse_rows(_chain(rest, numbered), header, columns, parsed, pad)
    if not parsed.rows and not parsed.errors:
        parsed.errors.append(RowError(None, "", _("The file has a header but no rows.")))
    return parsed


def _chain(*parts: Any) -> Iterator[tuple[int, list[Cell]]]:
    for part in parts:
        yield from part


def _header(parsed: ParsedFile, header: list[str], mapping: dict[str, str]) -> list[str | None]:
    """The column each of the file's columns stands for (None: left out), with the header's errors."""
    columns: list[str | None] = []
    first_of: dict[str, str] = {}
    for index, name in enumerate(header):
        if "\x00" in name:
            # Not also "unknown" and, when the rest is a column's name, "missing" as well.
            name = name.replace("\x00", "").strip()
            message = _(
                "The name of this column holds a NUL character (invisible, and never in a CSV file "
                "a spreadsheet writes). Type the name again."
            )
            parsed.errors.append(RowError(1, name, message, letter="" if name else column_letter(index)))
            if match_header(name):
                parsed.columns.add(match_header(name) or "")  # named already: not "missing" as well
            columns.append(None)
            continue
        column = mapping[name] if name in mapping else match_header(name) if name else None
        if column not in BY_HEADER:
            column = None
        parsed.matched[name] = column if name in mapping or column else None
        if column is None:
            if name and name not in mapping:
                message = _(
                    "Unknown column. Map it to one of the register's columns or ignore it; the accepted "
                    "columns are: %(columns)s."
                ) % {"columns": ", ".join(HEADERS)}
                parsed.errors.append(RowError(1, name, message))
            columns.append(None)
            continue
        if column in first_of:
            parsed.errors.append(
                RowError(
                    1,
                    name,
                    _("This column and “%(other)s” both stand for %(column)s.")
                    % {"other": first_of[column], "column": BY_HEADER[column].label or column}
                    if first_of[column] != name
                    else _("This column appears twice."),
                )
            )
            columns.append(None)
            continue
        first_of[column] = name
        parsed.columns.add(column)
        parsed.column_names[column] = name
        columns.append(column)
    return columns


def _defaults(parsed: ParsedFile, defaults: dict[str, str]) -> None:
    """Parse the defaults chosen for missing columns; a default for a column the file has is not used."""
    for header, text in defaults.items():
        column = BY_HEADER.get(header)
        text = (text or "").strip()
        if column is None or not text or header in parsed.columns:
            continue
        try:
            value = column.parse(text)
        except ValueError as error:
            parsed.errors.append(RowError(None, header, str(error)))
            continue
        parsed.defaults[header] = value
        parsed.columns.add(header)


def _required(parsed: ParsedFile) -> None:
    parsed.errors += [
        RowError(1, column.header, _("This column is required and missing."))
        for column in COLUMNS
        if column.required and column.header not in parsed.columns
    ]


def _parse_rows(
    numbered: Iterator[tuple[int, list[Cell]]],
    header: list[str],
    columns: list[str | None],
    parsed: ParsedFile,
    pad: bool,
) -> list[Row]:
    """Parse every row; a workbook's short rows (`pad`) are its trailing empty cells, a CSV's are refused."""
    rows = []
    specs = [
        None
        if name is None
        else (name, BY_HEADER[name].parse, BY_HEADER[name].cell, BY_HEADER[name].required)
        for name in columns
    ]
    errors = parsed.errors
    unnamed = {index for index, name in enumerate(header) if not name}
    unnamed_reported: set[int] = set()
    defaults = parsed.defaults
    for number, record in numbered:
        if not any(_filled(c) for c in record):
            continue
        if len(record) != len(columns):
            extra = record[len(columns) :]
            if len(record) > len(columns) and not any(isinstance(c, str) and c.strip() for c in extra):
                record = record[: len(columns)]  # empty cells beyond the header: a spreadsheet's habit
            elif not pad:
                message = _("This row has %(cells)d cells; the header has %(columns)d.") % {
                    "cells": len(record),
                    "columns": len(columns),
                }
                errors.append(RowError(number, "", message))
                continue
            else:
                record = [*record, *([""] * (len(columns) - len(record)))][: len(columns)]
        row = Row(number)
        values = row.values
        for index, (spec, cell) in enumerate(zip(specs, record, strict=True)):
            if spec is None:
                if index in unnamed and index not in unnamed_reported and _filled(cell):
                    # A column with no name is left out while it is empty.
                    unnamed_reported.add(index)
                    message = _("This column has no name but holds values: name it, or empty it.")
                    errors.append(RowError(number, "", message, letter=column_letter(index)))
                continue
            header_name, parse, kind, required = spec
            value: Any = cell.strip() if isinstance(cell, str) else cell
            if value == "":
                # Empty cells are not stored (values.get() gives None): large files stay smaller.
                if required and header_name not in defaults:
                    errors.append(RowError(number, header_name, _("This cell is required.")))
                continue
            if isinstance(value, datetime.date) and kind != DATE:
                value = (
                    value.isoformat()
                    if not isinstance(value, datetime.datetime)
                    else value.date().isoformat()
                )
            if isinstance(value, str) and kind == TEXT and value[0] == "'":
                value = unneutralise(value)
            try:
                values[header_name] = parse(value)
            except ValueError as error:
                errors.append(RowError(number, header_name, str(error)))
        _spread(values)
        for name, value in defaults.items():
            values.setdefault(name, value)
        rows.append(row)
    return rows


def _filled(cell: Cell) -> bool:
    return bool(cell.strip()) if isinstance(cell, str) else True


def _spread(values: dict[str, Any]) -> None:
    """Put the parts of a cell where they belong: a date's precision, a country's subdivision."""
    for date, precision in (("joined_on", "joined_precision"), ("left_on", "left_precision")):
        read = values.get(date)
        if isinstance(read, tuple):
            values[date] = read[0]
            values.setdefault(precision, read[1])
    place = values.get("country")
    if place is not None and not isinstance(place, str):
        values["country"] = place.country
        if place.subdivision:
            values.setdefault("subdivision", place.subdivision)
