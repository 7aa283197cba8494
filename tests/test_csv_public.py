"""The public directory's CSV download and the export_members command."""

import csv
import datetime
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from members import csv_io
from tests.factories import DeclaredFiguresFactory, FederationFactory, MembershipFactory, OrganisationFactory


def download(client, **params):
    response = client.get(reverse("members:directory-csv"), params)
    assert response.status_code == 200
    return response, b"".join(response.streaming_content).decode("utf-8")


def rows_of(text, delimiter=","):
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter))


def test_directory_links_its_download_to_the_csv_of_the_same_filters(client, db):
    FederationFactory(slug="fed")
    page = client.get(reverse("members:organisation-list"), {"country": "BE"})
    assert f'href="{reverse("members:directory-csv")}?country=BE"' in page.text


def test_download_has_exactly_the_organisations_the_directory_filters_select(client, db):
    federation = FederationFactory(slug="fed", country="FR")
    belgian = OrganisationFactory(slug="belgian", country="BE")
    MembershipFactory(member=belgian, federation=federation)
    MembershipFactory(member=belgian, federation=FederationFactory(slug="other", country="FR"))
    MembershipFactory(member=OrganisationFactory(slug="french", country="FR"), federation=federation)
    _response, text = download(client, country="BE")
    # Every membership of a selected organisation, so the file re-imports whole.
    assert [(r["slug"], r["federation"]) for r in rows_of(text)] == [("belgian", "fed"), ("belgian", "other")]
    _response, text = download(client, federation="fed")
    assert {r["slug"] for r in rows_of(text)} == {"belgian", "french"}


def test_an_invalid_filter_downloads_no_rows_as_the_directory_lists_none(client, db):
    OrganisationFactory(slug="org")
    _response, text = download(client, kind="not-a-kind")
    assert rows_of(text) == []


@time_machine.travel(datetime.datetime(2026, 3, 4, 12, tzinfo=datetime.UTC))
def test_download_is_named_with_the_date_and_offers_bom_and_semicolons(client, db):
    OrganisationFactory(slug="org", name="Société; coopérative")
    response, text = download(client, bom="1", delimiter="semicolon")
    assert response["Content-Disposition"] == 'attachment; filename="register-2026-03-04.csv"'
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert text.startswith("\ufeffslug;name;")
    assert rows_of(text, ";")[0]["name"] == "Société; coopérative"


def test_download_runs_the_same_queries_for_small_and_larger_directories(
    client, db, django_assert_num_queries
):
    federation = FederationFactory(slug="fed")

    def populate(count):
        for _ in range(count):
            organisation = OrganisationFactory()
            MembershipFactory(member=organisation, federation=federation)
            DeclaredFiguresFactory(organisation=organisation)

    populate(2)
    # 1. the federation named in the filter, to validate it; 2. the export itself.
    with django_assert_num_queries(2):
        _response, small = download(client, federation="fed")
    populate(60)
    with django_assert_num_queries(2):
        _response, large = download(client, federation="fed")
    assert (len(rows_of(small)), len(rows_of(large))) == (2, 62)


STORABLE_LEADS = sorted(csv_io.FORMULA_LEADS - {"\0"})


@pytest.mark.parametrize("lead", STORABLE_LEADS)
def test_public_download_neutralises_every_dangerous_leading_character(client, db, lead):
    OrganisationFactory(slug="org", name=f"{lead}cmd|' /C calc'!A0", city=f"{lead}2+3")
    _response, text = download(client)
    [row] = rows_of(text)
    assert (row["name"], row["city"]) == (f"'{lead}cmd|' /C calc'!A0", f"'{lead}2+3")


@pytest.mark.parametrize("lead", STORABLE_LEADS)
def test_export_command_neutralises_every_dangerous_leading_character(db, tmp_path, lead):
    OrganisationFactory(slug="org", name=f"{lead}SUM(A1)", acronym=f"{lead}")
    output = tmp_path / "out.csv"
    call_command("export_members", "--output", str(output), stderr=io.StringIO())
    [row] = rows_of(output.read_bytes().decode("utf-8"))
    assert (row["name"], row["acronym"]) == (f"'{lead}SUM(A1)", f"'{lead}")


def test_export_command_filters_by_federation_and_country_and_writes_options(db):
    federation = FederationFactory(slug="fed")
    MembershipFactory(member=OrganisationFactory(slug="in-be", country="BE"), federation=federation)
    MembershipFactory(member=OrganisationFactory(slug="in-fr", country="FR"), federation=federation)
    OrganisationFactory(slug="outside", country="BE")
    out = io.StringIO()
    call_command(
        "export_members",
        "--federation",
        "fed",
        "--country",
        "be",
        "--bom",
        "--delimiter",
        "semicolon",
        stdout=out,
    )
    text = out.getvalue()
    assert text.startswith("\ufeffslug;")
    assert [r["slug"] for r in rows_of(text, ";")] == ["in-be"]


def test_exported_command_file_re_imports_with_no_change(seeded, tmp_path):
    output = tmp_path / "register.csv"
    call_command(
        "export_members", "--output", str(output), "--bom", "--delimiter", "semicolon", stderr=io.StringIO()
    )
    plan = csv_io.plan_import(output.read_bytes())
    assert plan.errors == []
    assert not plan.has_changes


def test_export_command_takes_the_directorys_filters_and_refuses_bad_ones(db):
    MembershipFactory(member=OrganisationFactory(slug="joined-2017"), joined_on=datetime.date(2017, 3, 1))
    MembershipFactory(member=OrganisationFactory(slug="joined-2015"), joined_on=datetime.date(2015, 3, 1))
    out = io.StringIO()
    call_command("export_members", "--joined", "2017", "--status", "current", stdout=out)
    assert [r["slug"] for r in rows_of(out.getvalue())] == ["joined-2017"]
    with pytest.raises(CommandError, match="--kind"):
        call_command("export_members", "--kind", "club", stdout=io.StringIO())


def test_markup_in_names_is_downloaded_as_csv_text_no_browser_renders(client, db):
    markup = '<img src=x onerror=alert(1)><a href="https://evil.example/">Log in</a>'
    OrganisationFactory(slug="org", name=markup, city="<iframe src=//evil.example/>")

    response, text = download(client)

    # A download with its type declared and sniffing off: never opened as a page.
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    [row] = rows_of(text)
    assert (row["name"], row["city"]) == (markup, "<iframe src=//evil.example/>")
