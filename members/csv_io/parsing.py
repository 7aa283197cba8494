"""Reading an import file: size limit, encoding, delimiter, header and cells, with every error."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from members.csv_io.columns import BY_HEADER, COLUMNS, HEADERS, TEXT, unneutralise

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def max_import_bytes():
    """The largest file import accepts: settings.MEMBERS_IMPORT_MAX_BYTES, 20 MB by default."""
    return getattr(settings, "MEMBERS_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


@dataclass(frozen=True)
class RowError:
    """A problem in the file: its row (the header is row 1, as a spreadsheet counts), column and message."""

    row: int | None
    column: str
    message: str

    def __str__(self):
        where = []
        if self.row:
            where.append(_("row %(row)d") % {"row": self.row})
        if self.column:
            where.append(_("column “%(column)s”") % {"column": self.column})
        return f"{', '.join(where)}: {self.message}" if where else self.message


class _Row:
    __slots__ = ("number", "values")

    def __init__(self, number):
        self.number = number
        self.values = {}  # header -> parsed value (None when the cell is empty)


def decode(data):
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


def sniff_delimiter(text):
    """Comma or semicolon, whichever separates the header's names (no header contains either)."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def too_large_error(size):
    """The error for a file of this many bytes, over the limit."""
    return RowError(
        None,
        "",
        _("The file is %(size)s; the largest file accepted is %(limit)s. Split it and import each part.")
        % {"size": filesizeformat(size), "limit": filesizeformat(max_import_bytes())},
    )


_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


def _check_header(header, plan):
    if not any(header):
        plan.errors.append(RowError(1, "", _("The file is empty: the first row must name the columns.")))
        return []
    seen = set()
    for name in header:
        if name not in BY_HEADER:
            plan.errors.append(
                RowError(
                    1,
                    name,
                    _("Unknown column. The accepted columns are: %(columns)s.")
                    % {"columns": ", ".join(HEADERS)},
                )
            )
        elif name in seen:
            plan.errors.append(RowError(1, name, _("This column appears twice.")))
        seen.add(name)
    required = [c.header for c in COLUMNS if c.required]
    if "federation" in seen:
        required.append("joined_on")
    for name in required:
        if name not in seen:
            plan.errors.append(RowError(1, name, _("This column is required and missing.")))
    return header


def _parse_rows(reader, headers, plan):
    rows = []
    columns = [BY_HEADER[name] for name in headers]
    specs = [(c.header, c.parse, c.cell == TEXT, c.required) for c in columns]
    for index, record in enumerate(reader):
        number = index + 2
        if not "".join(record).strip():
            continue
        if len(record) != len(columns):
            plan.errors.append(
                RowError(
                    number,
                    "",
                    _("This row has %(cells)d cells; the header has %(columns)d.")
                    % {"cells": len(record), "columns": len(columns)},
                )
            )
            continue
        row = _Row(number)
        values = row.values
        for (header, parse, is_text, required), cell in zip(specs, record, strict=True):
            value = cell.strip()
            if not value:
                # Empty cells are not stored (values.get() gives None): large files stay smaller.
                if required:
                    plan.errors.append(RowError(number, header, _("This cell is required.")))
                continue
            if is_text and value[0] == "'":
                value = unneutralise(value)
            try:
                values[header] = parse(value)
            except ValueError as error:
                plan.errors.append(RowError(number, header, str(error)))
        rows.append(row)
    return rows
