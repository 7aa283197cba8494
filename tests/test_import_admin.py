"""The admin's import: upload, the mapping step (remembered per user), the preview's warnings, template."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from members.admin.csv import SESSION_KEY
from members.csv_io import plan_import
from members.models import ImportMapping, Membership, Organisation
from tests import import_sheets

IMPORT_URL = "admin:members_organisation_import_csv"


def upload(data, name):
    file = io.BytesIO(data)
    file.name = name
    return file


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_superuser("owner", "owner@example.org", "pw")


def map_affiliation_type(client, response, **headers):
    """Post the mapping step as a person does: "Affiliation type" is the category."""
    form = response.context["mapping_form"]
    data = {"map": "1", "sha256": response.context["sha256"]}
    for field in form.mapping_fields():
        data[field.html_name] = "category" if field.label == "Affiliation type" else ""
    return client.post(reverse(IMPORT_URL), data, **headers)


@pytest.mark.parametrize(
    ("data", "name"), [(import_sheets.as_xlsx(), "members.xlsx"), (import_sheets.as_csv(), "members.csv")]
)
def test_a_staff_spreadsheet_imports_in_one_upload_and_one_mapping_step(
    client, owner, seeded, immediate_tasks, data, name
):
    client.force_login(owner)
    stored = list(Membership.objects.values_list("pk", flat=True))
    response = client.post(reverse(IMPORT_URL), {"file": upload(data, name)})
    form = response.context["mapping_form"]
    assert form.unknown == ["Affiliation type"]
    assert Organisation.objects.count() == 6  # nothing written yet
    preview = map_affiliation_type(client, response)
    assert preview.context["plan"].errors == []
    assert client.session[SESSION_KEY]["options"]["mapping"] == {"Affiliation type": "category"}
    assert client.session[SESSION_KEY]["options"]["format"] == name.rsplit(".")[1]
    # The preview names the admission-rule breach the import would create.
    warnings = [warning.message for warning, _column in preview.context["warning_rows"]]
    assert any("Legacoop Produzione e Servizi would be a member of CECOP" in w for w in warnings)
    done = client.post(reverse(IMPORT_URL), {"confirm": "1", "sha256": preview.context["sha256"]})
    assert done.status_code == 302
    assert Organisation.objects.filter(slug="scmvd", country="CZ").exists()
    assert Organisation.objects.get(slug="erkide").subdivision == "Basque Country"
    attested = Membership.objects.filter(joined_precision="by").exclude(pk__in=stored)
    assert {(m.member.short_name, m.federation.short_name) for m in attested} == import_sheets.ATTESTED
    assert all(m.source and m.source.url for m in attested)
    assert Membership.objects.get(member__slug="co-operatives-uk").category == "associate"


def test_the_mapping_is_remembered_for_the_same_headers_after_signing_out(client, owner, seeded):
    client.force_login(owner)
    first = client.post(reverse(IMPORT_URL), {"file": upload(import_sheets.as_csv(), "a.csv")})
    map_affiliation_type(client, first)
    assert ImportMapping.objects.filter(user=owner).count() == 1
    client.logout()
    client.force_login(owner)
    again = client.post(
        reverse(IMPORT_URL), {"file": upload(import_sheets.as_csv(import_sheets.ROWS[:2]), "b.csv")}
    )
    [field] = again.context["mapping_form"].mapping_fields()
    assert field.value() == "category"


def test_another_users_mapping_is_not_offered(client, owner, seeded, django_user_model):
    client.force_login(owner)
    map_affiliation_type(
        client, client.post(reverse(IMPORT_URL), {"file": upload(import_sheets.as_csv(), "a.csv")})
    )
    other = django_user_model.objects.create_superuser("other", "other@example.org", "pw")
    client.force_login(other)
    again = client.post(reverse(IMPORT_URL), {"file": upload(import_sheets.as_csv(), "a.csv")})
    [field] = again.context["mapping_form"].mapping_fields()
    assert field.value() == ""


def test_a_default_for_a_missing_column_applies_to_every_row(client, owner, seeded):
    client.force_login(owner)
    data = b"Name,Country,Member since\nCoop A,Belgium,2018\nCoop B,Spain,2019\n"
    response = client.post(reverse(IMPORT_URL), {"file": upload(data, "x.csv")})
    assert "kind" in response.context["mapping_form"].missing
    preview = client.post(
        reverse(IMPORT_URL),
        {
            "map": "1",
            "sha256": response.context["sha256"],
            "default-kind": "cooperative",
            "default-federation": "CICOPA",
        },
    )
    plan = preview.context["plan"]
    assert plan.errors == []
    assert {values["kind"] for values in plan.organisations_to_create.values()} == {"cooperative"}
    assert {m.federation for m in plan.memberships_to_create} == {"cicopa"}


def test_a_refused_row_is_named_by_its_row_and_the_files_column_in_french(client, owner, seeded):
    client.force_login(owner)
    rows = [
        *import_sheets.ROWS,
        ["Coopérative X", "", "Coopérative", "Congo", "CICOPA", "Full", "2015", "", ""],
    ]
    response = client.post(
        reverse(IMPORT_URL), {"file": upload(import_sheets.as_csv(rows), "x.csv")}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    preview = map_affiliation_type(client, response, HTTP_ACCEPT_LANGUAGE="fr")
    [(error, column)] = preview.context["error_rows"]
    assert (error.row, column) == (14, "Country")
    assert "peut désigner chacun de ces pays" in error.message
    assert "(CD)" in error.message and "(CG)" in error.message


def test_the_template_downloads_as_xlsx_and_csv_and_reimports_without_a_mapping_step(client, owner, seeded):
    client.force_login(owner)
    xlsx = client.get(reverse("admin:members_organisation_import_template", args=["xlsx"]))
    rows = list(
        openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).active.iter_rows(values_only=True)
    )
    assert rows[0][:3] == ("Organisation", "Acronym", "Kind") and len(rows) == 2
    text = client.get(reverse("admin:members_organisation_import_template", args=["csv"])).content.decode(
        "utf-8-sig"
    )
    header, example = csv.reader(io.StringIO(text))
    assert header == [str(cell) for cell in rows[0]] and example == [str(cell or "") for cell in rows[1]]
    # Its example row is one the import accepts as it is.
    assert plan_import(xlsx.content).errors == []
    assert plan_import(text.encode()).errors == []
    assert client.get(reverse("admin:members_organisation_import_template", args=["pdf"])).status_code == 404


def test_the_template_and_the_mapping_step_are_refused_to_staff_without_the_import_permission(
    client, db, django_user_model
):
    user = django_user_model.objects.create_user("staff", "staff@example.org", "pw", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:members_organisation_import_template", args=["csv"])).status_code == 403
    assert client.post(reverse(IMPORT_URL), {"map": "1", "sha256": "x"}).status_code == 403
