"""The register as CSV, out and in, from one definition of the columns.

COLUMNS says, for each column, its header, where export reads it from (one
SQL expression per column, so a whole export is one query) and how import
parses and checks it. A file that export writes is a file import reads back
with no change. The README's "Data in and out" section documents the format.

Import is in two steps: plan_import() reads and checks the whole file and
returns a plan (what would be created, updated or left alone, with the
differences) and every error; apply_import() writes a plan with no errors in
one transaction with bulk queries, after checking again, under the network's
lock, that no membership it creates would now close a loop (StalePlanError
otherwise). Nothing is written unless every row is valid.

One job per module: columns (the definition, the cell parsers, formula
neutralising), export (the query, streaming, the downloads), records (bytes
to CSV records: what the file is, its encoding and delimiter, the row a
spreadsheet shows for each record, where a problem lies), parsing (records to
rows: size, header, cells), planning (the rows against each other and the
register, with members/validation.py's rules), applying (the bulk writes).
This package holds the names callers use.
"""

from members.csv_io.applying import StalePlanError, apply_import
from members.csv_io.columns import COLUMNS, DECLARATION, FORMULA_LEADS, HEADERS, neutralise, unneutralise
from members.csv_io.export import (
    directory_csv,
    directory_queryset,
    export_options,
    export_response,
    export_rows,
    filtered_organisations,
    selects_everything,
    stream_csv,
)
from members.csv_io.parsing import max_import_bytes, too_large_error
from members.csv_io.planning import ImportPlan, plan_import

__all__ = [
    "COLUMNS",
    "DECLARATION",
    "FORMULA_LEADS",
    "HEADERS",
    "ImportPlan",
    "StalePlanError",
    "apply_import",
    "directory_csv",
    "directory_queryset",
    "export_options",
    "export_response",
    "export_rows",
    "filtered_organisations",
    "max_import_bytes",
    "neutralise",
    "plan_import",
    "selects_everything",
    "stream_csv",
    "too_large_error",
    "unneutralise",
]
