"""The import's downloadable template: human headers and one example row, as CSV or XLSX.

The headers are the columns' labels in the user's language (the import reads
them in any of the three), and the example row says what a cell looks like:
a kind and a category as people name them, a date known to the month, a
country by name with its region in parentheses, the source's address.
"""

from __future__ import annotations

import csv
import io

from members.csv_io.columns import BY_HEADER, Column
from members.models import Membership, Organisation

# The columns a person fills in, in the order a sheet of members usually has them.
TEMPLATE_COLUMNS = (
    "name",
    "acronym",
    "kind",
    "country",
    "city",
    "website",
    "federation",
    "category",
    "joined_on",
    "left_on",
    "source_url",
    "source_title",
)


def _example(column: Column) -> str:
    if column.header == "kind":
        return str(Organisation.Kind.NATIONAL.label)
    if column.header == "category":
        return str(Membership.Category.FULL.label)
    if column.header == "country":
        return "Spain (Basque Country)"
    return column.example


def template_rows() -> list[list[str]]:
    """The header row (labels in the active language) and the example row."""
    columns = [BY_HEADER[name] for name in TEMPLATE_COLUMNS]
    return [[str(column.label) for column in columns], [_example(column) for column in columns]]


def template_csv() -> bytes:
    """The template as CSV in UTF-8 with a byte-order mark, which spreadsheet programs open as UTF-8."""
    out = io.StringIO()
    csv.writer(out).writerows(template_rows())
    return ("\ufeff" + out.getvalue()).encode()


def template_xlsx() -> bytes:
    """The template as an XLSX workbook of one sheet."""
    # Imported here: only this download and XLSX uploads pay for loading openpyxl.
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Members")
    for row in template_rows():
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
