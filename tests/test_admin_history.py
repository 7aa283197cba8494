"""Change history: who changed which field from what to what, after an edit and an import; revert."""

import datetime

import pytest
from django.urls import reverse

from members.csv_io import apply_import, plan_import, stream_csv
from members.models import Membership, Organisation
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory
from tests.test_admin_permissions import post_data_from


@pytest.fixture
def cecop(db):
    return FederationFactory(name="CECOP – CICOPA Europe", acronym="CECOP", kind=Organisation.Kind.REGIONAL)


@pytest.fixture
def membership(cecop):
    return MembershipFactory(member=OrganisationFactory(name="SMart", city="Bruxelles"), federation=cecop)


def _end_through_the_admin(client, user, membership, left_on):
    client.force_login(user)
    url = reverse("admin:members_membership_change", args=[membership.pk])
    data = post_data_from(client.get(url))
    data["left_on"] = left_on
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]


def test_an_edit_is_recorded_with_its_author_and_the_field_changed_from_what_to_what(
    client, staff_member, cecop, membership
):
    editor = staff_member("editor", [cecop])

    _end_through_the_admin(client, editor, membership, "2020-03-01")

    latest, previous = membership.history.order_by("-history_date", "-history_id")[:2]
    assert latest.history_user == editor
    delta = latest.diff_against(previous, excluded_fields=["created_at", "updated_at"])
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("left_on", None, datetime.date(2020, 3, 1))]


def test_the_history_page_shows_who_changed_which_field(client, staff_member, cecop, membership):
    editor = staff_member("editor", [cecop])
    _end_through_the_admin(client, editor, membership, "2020-03-01")
    reader = staff_member("read-only")
    client.force_login(reader)

    page = client.get(reverse("admin:members_membership_history", args=[membership.pk])).content.decode()

    assert editor.get_username() in page
    assert "left on" in page.lower()
    # The timestamps change on every save; the diff leaves them out.
    assert "updated at" not in page.lower()


def test_an_import_is_recorded_as_the_importing_users_change(staff_member, membership):
    administrator = staff_member("administrator")
    organisation = membership.member
    exported = "".join(stream_csv(Organisation.objects.filter(pk=organisation.pk)))
    assert "Bruxelles" in exported
    plan = plan_import(exported.replace("Bruxelles", "Brussels").encode())
    assert not plan.errors

    apply_import(plan, user=administrator)

    latest, previous = organisation.history.order_by("-history_date", "-history_id")[:2]
    assert latest.history_user == administrator
    delta = latest.diff_against(previous, excluded_fields=["created_at", "updated_at"])
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("city", "Bruxelles", "Brussels")]


def test_revert_restores_the_earlier_values(client, staff_member, cecop, membership):
    editor = staff_member("editor", [cecop])
    _end_through_the_admin(client, editor, membership, "2020-03-01")
    original = membership.history.earliest("history_date")
    url = reverse("admin:members_membership_simple_history", args=[membership.pk, original.history_id])

    response = client.post(url, post_data_from(client.get(url)))

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.left_on is None
    assert membership.history.latest("history_date").history_user == editor


def test_a_revert_that_would_move_a_membership_out_of_the_editors_federation_is_refused(
    client, staff_member, cecop, membership
):
    other = FederationFactory(acronym="OTHER")
    Membership.objects.filter(pk=membership.pk).update(federation=other)
    membership.refresh_from_db()
    membership.save()  # a version in OTHER, the current one
    Membership.objects.filter(pk=membership.pk).update(federation=cecop)
    in_other = membership.history.latest("history_date")
    editor = staff_member("editor", [cecop])
    client.force_login(editor)
    url = reverse("admin:members_membership_simple_history", args=[membership.pk, in_other.history_id])

    response = client.post(url, post_data_from(client.get(url)))

    assert response.status_code == 200
    assert "federation" in response.context["adminform"].form.errors
    membership.refresh_from_db()
    assert membership.federation == cecop


def test_an_import_through_the_admin_is_recorded_as_the_signed_in_users(
    client, staff_member, membership, immediate_tasks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    administrator = staff_member("administrator")
    client.force_login(administrator)
    organisation = membership.member
    exported = "".join(stream_csv(Organisation.objects.filter(pk=organisation.pk)))
    upload = SimpleUploadedFile("register.csv", exported.replace("Bruxelles", "Brussels").encode())
    url = reverse("admin:members_organisation_import_csv")
    preview = client.post(url, {"file": upload})

    confirmed = client.post(url, {"confirm": "1", "sha256": preview.context["sha256"]})

    assert confirmed.status_code == 302
    latest = organisation.history.order_by("-history_date", "-history_id").first()
    assert latest.history_user == administrator
    assert latest.city == "Brussels"
    page = client.get(reverse("admin:members_organisation_history", args=[organisation.pk])).content.decode()
    assert "Bruxelles" in page
    assert "Brussels" in page
