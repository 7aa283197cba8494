"""From a file's bytes to CSV records, and where in them a problem lies.

decode() tells a CSV file saved as UTF-8 from what staff upload by mistake (a
workbook, an image, UTF-16) and names each; Records reads the text with csv,
counting rows as a spreadsheet shows them (the header is row 1, and a record
is one row however many line breaks its quoted cells hold); the error
functions name the row and the column of a record csv cannot read. No message
is Python's own: each is in the user's language.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# A line of the file, split where a file opened with newline="" splits it (\r\n, \r or
# \n, the ending kept): csv then tells a line break inside a quoted cell from the end
# of a record, and a file with old Mac line endings (\r) reads as rows.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_FIRST_LINE = re.compile(r"[^\r\n]*")
# What an unquoted cell may hold, per delimiter: anything but the delimiter and line breaks.
_UNQUOTED = {delimiter: re.compile(f"[^{delimiter}\r\n]*") for delimiter in ",;"}

# Workbooks: XLSX and ODS are ZIP archives, XLS an OLE2 compound file.
_WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_OTHER_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": gettext_lazy("a PNG image"),
    b"\xff\xd8\xff": gettext_lazy("a JPEG image"),
    b"%PDF-": gettext_lazy("a PDF document"),
}
_BOMS = (
    # UTF-32's little-endian mark starts with UTF-16's, so it is looked for first.
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def row_label(number: int) -> str:
    """Return "row 5", as errors name a row of the file."""
    return _("row %(row)d") % {"row": number}


def column_letter(index: int) -> str:
    """Return a column's letter as a spreadsheet shows it: A for the first, Z, AA, AB…"""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


@dataclass(frozen=True)
class RowError:
    """A problem in the file: its row (the header is row 1, as a spreadsheet counts), column and message.

    `column` is the column's name; where the file gives it none (the header row
    itself, a cell beyond the header), `letter` is the spreadsheet's letter for it.
    """

    row: int | None
    column: str
    message: str
    letter: str = ""

    def __str__(self) -> str:
        where = []
        if self.row:
            where.append(row_label(self.row))
        if self.column:
            where.append(_("column “%(column)s”") % {"column": self.column})
        elif self.letter:
            where.append(_("column %(letter)s") % {"letter": self.letter})
        return f"{', '.join(where)}: {self.message}" if where else self.message


class UnreadableFile(Exception):
    """The file cannot be read as CSV text at all; `error` says why, and where when it can."""

    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


def _file_error(message: str) -> UnreadableFile:
    return UnreadableFile(RowError(None, "", message))


def _save_as_utf8(encoding: str) -> UnreadableFile:
    return _file_error(
        _("The file is in %(encoding)s. Save it as “CSV UTF-8” in your spreadsheet program and try again.")
        % {"encoding": encoding}
    )


def _wide_encoding(data: bytes) -> str:
    """ "UTF-16" or "UTF-32" when the NUL bytes fall where those put them in Latin text; "" otherwise.

    Without a byte-order mark, such a file is told by its pattern: in UTF-16 every
    Latin letter, digit or comma has one NUL byte next to it (the header is all
    Latin), in UTF-32 three.
    """
    sample = data[:4096]
    quads = len(sample) // 4
    if not quads or b"\x00" not in sample:
        return ""
    # The share of NUL bytes at each position modulo 4.
    zeros = [sample[offset : quads * 4 : 4].count(0) / quads for offset in range(4)]
    little_32 = zeros[0] < 0.5 and min(zeros[1:]) > 0.9
    big_32 = zeros[3] < 0.5 and min(zeros[:3]) > 0.9
    if little_32 or big_32:
        return "UTF-32"
    even, odd = (zeros[0] + zeros[2]) / 2, (zeros[1] + zeros[3]) / 2
    if min(even, odd) < 0.1 and max(even, odd) > 0.5:
        return "UTF-16"
    return ""


def _not_text(data: bytes) -> UnreadableFile | None:
    """The error for a file that is not text (a workbook, an image, UTF-16 or UTF-32), or None."""
    for mark, encoding in _BOMS:
        if data.startswith(mark):
            return _save_as_utf8(encoding)
    if data.startswith(_WORKBOOK_SIGNATURES):
        return _file_error(
            _(
                "This looks like a workbook the import cannot read (an old Excel .xls file or an "
                "OpenDocument sheet). Open it in your spreadsheet program, save it as .xlsx or as "
                "“CSV UTF-8” and import that file."
            )
        )
    for signature, kind in _OTHER_SIGNATURES.items():
        if data.startswith(signature):
            return _file_error(
                _(
                    "This file is %(kind)s, not a CSV file. Save the register's data as “CSV UTF-8” "
                    "in your spreadsheet program and import that file."
                )
                % {"kind": kind}
            )
    encoding = _wide_encoding(data)
    return _save_as_utf8(encoding) if encoding else None


def decode(data: bytes) -> str:
    """Return the file's text, or raise UnreadableFile saying what the file is and what it needs."""
    problem = _not_text(data)
    if problem:
        raise problem
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        if b"\x00" in data:
            # Not UTF-8, and NUL bytes, which no text encoding a spreadsheet writes has.
            raise _file_error(
                _(
                    "This is not a text file (it holds NUL bytes), so it cannot be a CSV file. Save "
                    "the register's data as “CSV UTF-8” in your spreadsheet program and import that file."
                )
            ) from error
        # Where the first such character is, as a spreadsheet would show it.
        text = body[: error.start].decode("utf-8")
        row, index, header = _position_of_end(text, sniff_delimiter(text))
        raise UnreadableFile(
            _cell_error(
                row,
                index,
                header,
                _(
                    "The file is not in UTF-8 from this cell on (it was probably saved as Windows-1252 "
                    "or Latin-1). Save it as “CSV UTF-8” in your spreadsheet program and try again."
                ),
            )
        ) from error


def sniff_delimiter(text: str) -> str:
    """Comma or semicolon, whichever separates the header's names (no header contains either)."""
    match = _FIRST_LINE.match(text)
    header = match.group() if match else ""
    return ";" if header.count(";") > header.count(",") else ","


class Records:
    """csv.reader over the text that knows the spreadsheet row of each record and where it starts.

    csv's own line_num counts physical lines, which a quoted cell with line
    breaks makes run ahead of the rows a spreadsheet shows; errors use `row`.
    """

    def __init__(self, text: str, delimiter: str) -> None:
        self.text = text
        self.delimiter = delimiter
        self.row = 0  # the spreadsheet row of the last record read
        self.start = 0  # where the last record read starts in the text
        self.reading = 0  # where the record being read starts
        self._end = 0  # where the lines given to csv so far end
        self._reader = csv.reader(self._lines(), delimiter=delimiter)

    def _lines(self) -> Iterator[str]:
        # Lines read lazily: a StringIO would hold a second, wider copy of the whole file.
        for match in _LINE.finditer(self.text):
            self._end = match.end()
            yield match.group()

    def __iter__(self) -> Records:
        return self

    def __next__(self) -> list[str]:
        # csv asks for lines until a record is complete and never reads ahead.
        self.reading = self._end
        record = next(self._reader)
        self.start = self.reading
        self.row += 1
        return record


class _Cell(NamedTuple):
    column: int  # its index in the record
    start: int
    end: int
    closed: bool  # False for a quoted cell whose quotation mark is never closed


def _cells(text: str, delimiter: str, start: int) -> Iterator[_Cell]:
    """The cells of the record starting at `start`, where csv (the excel dialect) finds them.

    For locating an error only: csv itself reads the file, this says where.
    """
    unquoted = _UNQUOTED[delimiter]
    index, position = 0, start
    while True:
        begin = position
        if text.startswith('"', position):
            position += 1
            while True:
                quote = text.find('"', position)
                if quote < 0:
                    yield _Cell(index, begin, len(text), closed=False)
                    return
                if not text.startswith('"', quote + 1):
                    break
                position = quote + 2  # a doubled quotation mark is one inside the cell
            position = quote + 1
        match = unquoted.match(text, position)
        position = match.end() if match else position
        yield _Cell(index, begin, position, closed=True)
        if not text.startswith(delimiter, position):
            return  # a line break, or the end of the text
        index += 1
        position += 1


def _position_of_end(text: str, delimiter: str) -> tuple[int, int, list[str]]:
    """The spreadsheet row and column index where `text` ends, with the header as far as it goes."""
    records = Records(text, delimiter)
    header: list[str] = []
    try:
        for record in records:
            header = header or record
    except csv.Error:
        records.start, records.row = records.reading, records.row + 1
    if records.row == 0:
        return 1, 0, []
    last = list(_cells(text, delimiter, records.start))[-1]
    if last.end < len(text):  # the record ended with a line break: the end is on the next row
        return records.row + 1, 0, header
    return records.row, last.column, header


def _cell_error(row: int, index: int, header: list[str], message: str) -> RowError:
    """An error in a cell, named by its column's header, or by its letter where it has none."""
    name = header[index].strip() if row > 1 and index < len(header) else ""
    return RowError(row, name, message, letter="" if name else column_letter(index))


def broken_record_error(records: Records, header: list[str]) -> RowError:
    """The error for the record csv could not read: its first cell too long for csv to hold."""
    row = records.row + 1
    limit = csv.field_size_limit()
    cells = _cells(records.text, records.delimiter, records.reading)
    cell = next((c for c in cells if not c.closed or c.end - c.start > limit), None)
    if cell is None:  # csv refused something else; there is nothing more precise to say
        return RowError(row, "", _("This row cannot be read as CSV."))
    if not cell.closed:
        return _cell_error(row, cell.column, header, _unclosed_quote_message())
    message = _("This cell has more than %(limit)s characters; no column accepts that many.") % {
        "limit": number_format(limit, force_grouping=True)
    }
    return _cell_error(row, cell.column, header, message)


def _unclosed_quote_message() -> str:
    return _(
        'This cell opens a quotation mark (") that is never closed, so everything after it to the end '
        "of the file was read into this cell. Close the quotation mark or remove it."
    )


def unclosed_quote_error(records: Records, header: list[str]) -> RowError | None:
    """The error for a last record whose quoted cell is never closed (csv reads it without a word)."""
    if records.row == 0:
        return None
    for cell in _cells(records.text, records.delimiter, records.start):
        if not cell.closed:
            return _cell_error(records.row, cell.column, header, _unclosed_quote_message())
    return None
