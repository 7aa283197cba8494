"""Reading an XLSX workbook's first sheet as rows of cells, with openpyxl in read-only mode.

Read-only mode streams the sheet instead of building every cell object, so a
large workbook costs about what its CSV would. Formulas are never run: a
formula cell gives the value the spreadsheet program last saved with it
(data_only). A date cell arrives as a datetime and is kept as a date, so that
it means the day the spreadsheet shows whatever the user's date format; a
whole number typed as 2017 arrives as a number and is given back as "2017".
"""

from __future__ import annotations

import datetime
import io
import zipfile
from collections.abc import Iterator

from django.utils.translation import gettext as _

from members.csv_io.records import RowError, UnreadableFile

# XLSX (and ODS) are ZIP archives; XLS is an OLE2 compound file.
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def is_workbook(data: bytes) -> bool:
    """Whether the bytes are an XLSX workbook (a ZIP archive holding a workbook part)."""
    if not data.startswith(ZIP_SIGNATURES):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _cell(value: object) -> str | datetime.date:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def workbook_rows(data: bytes) -> Iterator[tuple[int, list[str | datetime.date]]]:
    """The first sheet's rows, numbered as a spreadsheet numbers them; UnreadableFile if it cannot be read."""
    # Imported here: only an XLSX upload pays for loading openpyxl.
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged or encrypted file
        raise UnreadableFile(
            RowError(
                None,
                "",
                _(
                    "This workbook cannot be read (it may be damaged or protected by a password). Open it "
                    "in your spreadsheet program and save it again as .xlsx or as “CSV UTF-8”."
                ),
            )
        ) from error
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell(value) for value in row]
    finally:
        workbook.close()
