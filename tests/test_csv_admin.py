"""CSV import and export in the admin: permissions, the preview that writes nothing, every export path."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.urls import reverse

from members import csv_io
from members.admin.csv import SESSION_KEY
from members.models import ImportJob, Membership, Organisation
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory

IMPORT_URL = "admin:members_organisation_import_csv"
EXPORT_URL = "admin:members_organisation_export_csv"
EXPORT_SCREEN_URL = "admin:members_organisation_export"
CHANGELIST_URL = "admin:members_organisation_changelist"


def csv_file(text, name="members.csv"):
    upload = io.BytesIO(text.encode())
    upload.name = name
    return upload


def body(response):
    return b"".join(response.streaming_content).decode()


def state():
    return (
        list(Organisation.objects.order_by("pk").values_list("slug", "name", "city")),
        list(Membership.objects.order_by("pk").values_list("member_id", "federation_id", "joined_on")),
    )


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_superuser("owner", "owner@example.org", "pw")


def staff_with(django_user_model, *codenames):
    user = django_user_model.objects.create_user("staff", "staff@example.org", "pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="members", codename__in=codenames)
    )
    return user


VALID = "slug,name,kind,city,federation,joined_on\nnew-coop,New Co-op,cooperative,Lyon,fed,2017-05-01\n"


def test_preview_shows_what_would_change_and_writes_nothing(client, owner, db):
    FederationFactory(slug="fed")
    client.force_login(owner)
    before = state()
    response = client.post(reverse(IMPORT_URL), {"file": csv_file(VALID)})
    assert response.status_code == 200
    assert response.context["counts"]["organisations_created"] == 1
    assert response.context["counts"]["memberships_created"] == 1
    assert "Confirm import" in response.text
    assert state() == before


def test_confirming_the_preview_imports_the_file_as_the_user(client, owner, db, immediate_tasks):
    FederationFactory(slug="fed")
    client.force_login(owner)
    preview = client.post(reverse(IMPORT_URL), {"file": csv_file(VALID)})
    response = client.post(reverse(IMPORT_URL), {"confirm": "1", "sha256": preview.context["sha256"]})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response.url == reverse("admin:members_organisation_import_job", args=[job.pk])
    assert (job.status, job.user, job.file_name) == ("done", owner, "members.csv")
    organisation = Organisation.objects.get(slug="new-coop")
    assert organisation.memberships.get().federation.slug == "fed"
    assert SESSION_KEY not in client.session
    if hasattr(organisation, "history"):
        assert organisation.history.get().history_user == owner


def test_confirming_with_another_files_hash_writes_nothing(client, owner, db):
    FederationFactory(slug="fed")
    client.force_login(owner)
    client.post(reverse(IMPORT_URL), {"file": csv_file(VALID)})
    before = state()
    response = client.post(reverse(IMPORT_URL), {"confirm": "1", "sha256": "0" * 64})
    assert response.status_code == 200
    assert state() == before


def test_confirming_after_the_register_changed_rechecks_the_file(client, owner, db, immediate_tasks):
    federation = FederationFactory(slug="fed")
    client.force_login(owner)
    preview = client.post(reverse(IMPORT_URL), {"file": csv_file(VALID)})
    Organisation.objects.filter(pk=federation.pk).update(slug="renamed")
    response = client.post(
        reverse(IMPORT_URL), {"confirm": "1", "sha256": preview.context["sha256"]}, follow=True
    )
    assert response.status_code == 200
    assert response.context["job"].status == "failed"
    assert "Unknown federation" in response.text
    assert not Organisation.objects.filter(slug="new-coop").exists()


def test_preview_of_a_bad_file_lists_row_column_and_problem_and_offers_no_confirmation(client, owner, db):
    client.force_login(owner)
    text = "slug,name,kind,country\ngood,Good,cooperative,FR\nbad,Bad,cooperative,Atlantis\n"
    response = client.post(reverse(IMPORT_URL), {"file": csv_file(text)})
    [error] = response.context["errors"]
    assert (error.row, error.column) == (3, "country")
    assert "Unknown country “Atlantis”" in response.text
    assert "Confirm import" not in response.text
    assert SESSION_KEY not in client.session
    assert not Organisation.objects.exists()


@override_settings(MEMBERS_IMPORT_MAX_BYTES=100)
def test_file_over_the_limit_is_refused_in_the_admin(client, owner, db):
    client.force_login(owner)
    response = client.post(reverse(IMPORT_URL), {"file": csv_file(VALID * 5)})
    assert "the largest file accepted is" in response.text
    assert not Organisation.objects.exists()


def test_import_needs_add_and_change_permissions_on_the_whole_register(client, django_user_model, db):
    everything = [
        f"{action}_{model}"
        for action in ("view", "add", "change")
        for model in ("organisation", "membership", "declaredfigures")
    ]
    user = staff_with(django_user_model, *(p for p in everything if p != "change_membership"))
    client.force_login(user)
    assert client.get(reverse(IMPORT_URL)).status_code == 403
    assert client.post(reverse(IMPORT_URL), {"file": csv_file(VALID)}).status_code == 403
    assert not Organisation.objects.exists()
    user.user_permissions.add(Permission.objects.get(codename="change_membership"))
    client.force_login(django_user_model.objects.get(pk=user.pk))
    assert client.get(reverse(IMPORT_URL)).status_code == 200


def test_anonymous_visitor_is_sent_to_the_login_page(client, db):
    for name in (IMPORT_URL, EXPORT_URL):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "login" in response["Location"]


def test_staff_without_view_permission_cannot_export(client, django_user_model, db):
    client.force_login(staff_with(django_user_model, "view_membership"))
    assert client.get(reverse(EXPORT_URL)).status_code == 403
    response = client.post(
        reverse(CHANGELIST_URL), {"action": "export_selected_csv", "_selected_action": [1]}
    )
    assert response.status_code == 403


def test_viewer_can_export_but_sees_no_import_link(client, django_user_model, db):
    OrganisationFactory(slug="org")
    client.force_login(staff_with(django_user_model, "view_organisation", "view_membership"))
    changelist = client.get(reverse(CHANGELIST_URL))
    assert "Import CSV" not in changelist.text
    assert reverse(EXPORT_SCREEN_URL) in changelist.text
    assert reverse(EXPORT_URL) in client.get(reverse(EXPORT_SCREEN_URL)).text
    assert "org" in body(client.get(reverse(EXPORT_URL)))


def test_filtered_export_has_exactly_what_the_changelist_filters_select(client, owner, db):
    OrganisationFactory(slug="a-bank", kind="bank")
    OrganisationFactory(slug="a-coop", kind="cooperative")
    client.force_login(owner)
    changelist = client.get(reverse(CHANGELIST_URL), {"kind__exact": "bank"})
    assert f'href="{reverse(EXPORT_SCREEN_URL)}?kind__exact=bank"' in changelist.text
    response = client.get(reverse(EXPORT_URL), {"kind__exact": "bank", "delimiter": "semicolon", "bom": "1"})
    text = body(response)
    assert text.startswith("\ufeffslug;")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert [r["slug"] for r in rows] == ["a-bank"]
    assert response["Content-Disposition"].startswith('attachment; filename="organisations-')


def test_export_selected_action_exports_the_selected_organisations_with_all_their_memberships(
    client, owner, db
):
    chosen = OrganisationFactory(slug="chosen")
    OrganisationFactory(slug="other")
    MembershipFactory(member=chosen, federation=FederationFactory(slug="fed-a"))
    MembershipFactory(member=chosen, federation=FederationFactory(slug="fed-b"))
    client.force_login(owner)
    response = client.post(
        reverse(CHANGELIST_URL),
        {
            "action": "export_selected_csv",
            "_selected_action": [chosen.pk],
            "download": "1",
            "delimiter": "comma",
        },
    )
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [(r["slug"], r["federation"]) for r in rows] == [("chosen", "fed-a"), ("chosen", "fed-b")]


STORABLE_LEADS = sorted(csv_io.FORMULA_LEADS - {"\0"})


@pytest.mark.parametrize("lead", STORABLE_LEADS)
@pytest.mark.parametrize("path", ["action", "filtered"])
def test_admin_exports_neutralise_every_dangerous_leading_character(client, owner, db, lead, path):
    organisation = OrganisationFactory(slug="org", name=f'{lead}HYPERLINK("http://x")', acronym=f"{lead}1")
    client.force_login(owner)
    if path == "action":
        response = client.post(
            reverse(CHANGELIST_URL),
            {
                "action": "export_selected_csv",
                "_selected_action": [organisation.pk],
                "download": "1",
                "delimiter": "comma",
            },
        )
    else:
        response = client.get(reverse(EXPORT_URL))
    [row] = csv.DictReader(io.StringIO(body(response)))
    assert row["name"] == f'\'{lead}HYPERLINK("http://x")'
    assert row["acronym"] == f"'{lead}1"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", "Pays inconnu «\u202fAtlantis\u202f»"), ("es", "Atlantis"), ("en", "Unknown country “Atlantis”")],
)
def test_import_errors_are_in_the_staff_members_language(client, owner, db, language, expected):
    client.force_login(owner)
    text = "slug,name,kind,country\nbad,Bad,cooperative,Atlantis\n"
    response = client.post(reverse(IMPORT_URL), {"file": csv_file(text)}, HTTP_ACCEPT_LANGUAGE=language)
    [error] = response.context["errors"]
    assert expected in error.message
    if language != "en":
        assert "Unknown country" not in error.message
