"""Every way an import file can fail to be read: each names its row and column, in the user's language.

Rows are counted as a spreadsheet counts them (the header is row 1, a record
is one row however many line breaks its quoted cells hold); a file that is not
CSV text is named for what it is; no message is Python's own.
"""

import codecs
import csv
import io
import os
import tracemalloc
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from members import csv_io
from members.models import Organisation

HEADER = "slug,name,kind\n"
LIMIT = csv.field_size_limit()


def errors_of(data, language="en"):
    """(row, column or letter, message) of each error reading the file gives."""
    with translation.override(language):
        return [(e.row, e.column or e.letter, e.message) for e in csv_io.plan_import(data).errors]


def only_error(data, language="en"):
    [error] = errors_of(data, language)
    return error


def python_english(message):
    return any(words in message for words in ("field larger", "new-line character", "universal-newline"))


# Cells csv cannot hold, and rows counted as a spreadsheet counts them


def test_a_cell_longer_than_csv_can_hold_is_named_by_its_row_and_column_in_the_users_language(db):
    data = (HEADER + "a,A,bank\nb," + "x" * (LIMIT + 10) + ",bank\n").encode()
    assert only_error(data) == (
        3,
        "name",
        "This cell has more than 131,072 characters; no column accepts that many.",
    )
    row, column, message = only_error(data, "fr")
    assert (row, column) == (3, "name")
    assert message == (
        "Cette cellule a plus de 131\xa0072 caractères\u202f; aucune colonne n’en accepte autant."
    )
    assert only_error(data, "es")[2].startswith("Esta celda tiene más de 131")


def test_after_a_cell_with_line_breaks_errors_count_rows_as_a_spreadsheet_does(db):
    # Row 3's name spans three lines of the file; the bad cell is on spreadsheet row 6 (line 8).
    data = (
        HEADER
        + "a,A,bank\n"
        + 'b,"B\nsecond line\nthird line",bank\n'
        + "c,C,bank\nd,D,bank\n"
        + "e,E," + "y" * (LIMIT + 1) + "\n"
    ).encode()  # fmt: skip
    assert only_error(data)[:2] == (6, "kind")
    # So do the errors of cells csv reads.
    data = (HEADER + 'b,"B\nsecond line\nthird line",bank\nc,C,club\n').encode()
    row, column, message = only_error(data)
    assert (row, column) == (3, "kind")
    assert message.startswith("“club” is not one of the accepted values")


def test_a_file_with_old_mac_line_endings_reads_as_its_rows(db):
    data = (HEADER + 'a,A,bank\nb,"B\rtwo lines",bank\nc,C,bank\n').replace("\n", "\r").encode()
    plan = csv_io.plan_import(data)
    assert plan.errors == []
    assert [row.slug for row in plan.rows] == ["a", "b", "c"]
    assert plan.organisations_to_create["b"]["name"] == "B\rtwo lines"


def test_a_line_break_alone_in_an_unquoted_cell_ends_the_row_as_in_a_spreadsheet(db):
    errors = errors_of((HEADER + "a,A\rx,bank\n").encode())
    assert errors == [
        (2, "", "This row has 2 cells; the header has 3."),
        (3, "", "This row has 2 cells; the header has 3."),
    ]
    assert not any(python_english(message) for _row, _column, message in errors)


# Quotation marks never closed


UNCLOSED = (
    'This cell opens a quotation mark (") that is never closed, so everything after it to the end '
    "of the file was read into this cell. Close the quotation mark or remove it."
)


@pytest.mark.parametrize("rows_after", [2, 20_000], ids=["short file", "more than csv holds in a cell"])
def test_a_quotation_mark_never_closed_is_named_where_it_opens(db, rows_after):
    data = (HEADER + "a,A,bank\n" + 'b,"B,bank\n' + "c,C,bank\n" * rows_after).encode()
    assert only_error(data) == (3, "name", UNCLOSED)
    french = only_error(data, "fr")[2]
    assert french.startswith('Cette cellule ouvre un guillemet (") qui n’est jamais fermé')


def test_a_quotation_mark_never_closed_in_the_header_is_named_by_its_letter(db):
    assert only_error(('slug,"name,kind\n' + "a,A,bank\n").encode()) == (1, "B", UNCLOSED)


# The header


def test_a_nul_in_the_header_is_one_error_naming_the_column(db):
    row, column, message = only_error(b"slug,na\x00me,kind\na,A,bank\n")
    assert (row, column) == (1, "name")
    assert message.startswith("The name of this column holds a NUL character")
    assert only_error(b"slug,na\x00me,kind\n", "es")[2].startswith(
        "El nombre de esta columna contiene un carácter NUL"
    )


# Files that are not CSV text


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32-le", "UTF-32"), ("utf-32-be", "UTF-32")],
)
def test_utf16_and_utf32_without_a_byte_order_mark_are_named_as_such(db, encoding, name):
    data = (HEADER + "coop,Crédit coopératif,bank\n").encode(encoding)
    expected = f"The file is in {name}. Save it as “CSV UTF-8” in your spreadsheet program and try again."
    assert only_error(data) == (None, "", expected)
    assert only_error(data, "fr")[2].startswith(f"Le fichier est en {name}.")


@pytest.mark.parametrize(
    ("bom", "encoding", "name"),
    [
        (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    ],
)
def test_utf32_with_a_byte_order_mark_is_not_taken_for_utf16(db, bom, encoding, name):
    assert only_error(bom + HEADER.encode(encoding))[2].startswith(f"The file is in {name}.")


def damaged_xlsx_bytes():
    """A ZIP archive that names a workbook part but holds no readable workbook."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


def test_a_damaged_workbook_is_told_to_be_saved_again(db):
    row, column, message = only_error(damaged_xlsx_bytes())
    assert (row, column) == (None, "")
    assert message.startswith("This workbook cannot be read")
    assert only_error(damaged_xlsx_bytes(), "fr")[2].startswith("Ce classeur ne peut pas être lu")


@pytest.mark.parametrize(
    "data",
    [b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), b"PK\x03\x04" + bytes(64)],
    ids=["xls (an OLE2 file)", "a ZIP archive that is no workbook (ODS, say)"],
)
def test_a_workbook_the_import_cannot_read_is_told_to_be_saved_as_xlsx_or_csv(db, data):
    assert only_error(data) == (
        None,
        "",
        "This looks like a workbook the import cannot read (an old Excel .xls file or an OpenDocument "
        "sheet). Open it in your spreadsheet program, save it as .xlsx or as “CSV UTF-8” and import that "
        "file.",
    )
    assert only_error(data, "es")[2].startswith("Parece un libro")


@pytest.mark.parametrize(
    ("data", "kind", "french"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "a PNG image", "une image PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "a JPEG image", "une image JPEG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document", "un document PDF"),
    ],
    ids=["png", "jpeg", "pdf"],
)
def test_an_image_or_a_pdf_is_named_for_what_it_is_not_for_an_encoding(db, data, kind, french):
    row, column, message = only_error(data)
    assert (row, column) == (None, "")
    assert message.startswith(f"This file is {kind}, not a CSV file.")
    assert "Windows-1252" not in message
    assert only_error(data, "fr")[2].startswith(f"Ce fichier est {french}, pas un fichier CSV.")


def test_a_binary_file_with_nul_bytes_is_not_called_windows_1252(db):
    message = only_error(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xfe\x80")[2]
    assert message.startswith("This is not a text file (it holds NUL bytes), so it cannot be a CSV file.")


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8], ids=["no BOM", "UTF-8 BOM"])
def test_a_legacy_encoding_is_located_at_its_row_and_column(db, bom):
    text = HEADER + 'a,"Two\nlines",bank\n' + "b,B,bank\nc,Crédit coopératif,bank\n"
    row, column, message = only_error(bom + text.encode("cp1252"))
    assert (row, column) == (4, "name")
    assert message.startswith("The file is not in UTF-8 from this cell on (it was probably saved as Windows")
    assert only_error("slug,nom_é,kind\n".encode("cp1252"))[:2] == (1, "B")


# The command checks the size on disk first


@override_settings(MEMBERS_IMPORT_MAX_BYTES=1000)
def test_the_command_refuses_a_file_too_large_by_its_size_on_disk_before_reading_it(db, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as file:
        file.write(HEADER.encode())
        file.truncate(64 * 1024 * 1024)  # sparse: 64 MB on paper, nothing on disk
    assert os.stat(path).st_size == 64 * 1024 * 1024
    err = io.StringIO()
    tracemalloc.start()
    try:
        with pytest.raises(CommandError, match="1 error"):
            call_command("import_members", str(path), stdout=io.StringIO(), stderr=err)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024
    assert "The file is 64.0\xa0MB; the largest file accepted is 1000\xa0bytes" in err.getvalue()
    assert not Organisation.objects.exists()


# The admin shows the same errors, a letter where a column has no name


def test_the_admin_names_a_column_without_a_name_by_its_letter(client, db, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("owner", "owner@example.org", "pw"))
    upload = io.BytesIO(('slug,"name,kind\n' + "a,A,bank\n").encode())
    upload.name = "broken.csv"
    response = client.post(reverse("admin:members_organisation_import_csv"), {"file": upload})
    [error] = response.context["errors"]
    assert (error.row, error.column, error.letter) == (1, "", "B")
    shown = response.text.replace("&quot;", '"')
    assert "<tr><td>1</td><td>B</td><td>This cell opens a quotation mark" in shown
