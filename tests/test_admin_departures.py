"""The admin records membership dates as sources give them: a start attested by a source on its date,
a departure at the end of a period with its own source, and "End the selected memberships…"."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from members.models import Membership
from members.stats import federation_figures
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory, SourceFactory

D = datetime.date


def _membership_post(membership, **fields):
    data = {
        "member": membership.member_id,
        "federation": membership.federation_id,
        "category": membership.category,
        "joined_on": membership.joined_on.isoformat(),
        "joined_precision": membership.joined_precision,
        "left_on": "",
        "left_precision": "day",
        "left_reason": "",
    }
    return {**data, **fields}


def test_the_admin_form_records_a_start_attested_by_a_source_on_the_sources_date(client, staff_member):
    client.force_login(staff_member("administrator"))
    member, federation = OrganisationFactory(), FederationFactory()
    board_list = SourceFactory(title="Board list", published_on=D(2019, 4, 2))
    data = {
        "member": member.pk,
        "federation": federation.pk,
        "category": "full",
        "joined_on": "",
        "joined_precision": "by",
        "source": board_list.pk,
        "left_on": "",
        "left_precision": "day",
    }
    response = client.post(reverse("admin:members_membership_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    membership = Membership.objects.get(member=member)
    assert membership.joined_on == D(2019, 4, 2)
    assert membership.joined_display == "not known (attested 2 April 2019)"


@time_machine.travel(datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_a_start_attested_by_a_source_without_a_date_is_recorded_on_the_day_of_entry(client, staff_member):
    client.force_login(staff_member("administrator"))
    member, federation = OrganisationFactory(), FederationFactory()
    page_seen = SourceFactory(title="Member page", published_on=None)
    data = {
        "member": member.pk,
        "federation": federation.pk,
        "category": "full",
        "joined_on": "",
        "joined_precision": "by",
        "source": page_seen.pk,
        "left_on": "",
        "left_precision": "day",
    }
    assert client.post(reverse("admin:members_membership_add"), data).status_code == 302
    assert Membership.objects.get(member=member).joined_on == D(2026, 12, 1)


def test_the_admin_form_refuses_a_start_without_a_date_that_is_not_attested(client, staff_member):
    client.force_login(staff_member("administrator"))
    member, federation = OrganisationFactory(), FederationFactory()
    data = {"member": member.pk, "federation": federation.pk, "category": "full", "joined_on": ""}
    response = client.post(reverse("admin:members_membership_add"), {**data, "joined_precision": "day"})
    assert response.status_code == 200
    assert "joined_on" in response.context["adminform"].form.errors
    assert not Membership.objects.filter(member=member).exists()


def test_the_admin_form_takes_a_day_of_2022_at_the_end_of_the_year_and_shows_it_as_31_december(
    client, staff_member
):
    client.force_login(staff_member("administrator"))
    membership = MembershipFactory(joined_on=D(2017, 5, 1), joined_precision="month")
    url = reverse("admin:members_membership_change", args=[membership.pk])
    source = SourceFactory(title="Secretariat record", published_on=None)
    data = _membership_post(
        membership,
        left_on="2022-06-15",
        left_precision="end_year",
        left_reason="left",
        left_source=source.pk,
        left_source_note="ULCCS left at the end of 2022.",
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    membership.refresh_from_db()
    assert (membership.left_on, membership.left_reason) == (D(2023, 1, 1), "left")
    assert membership.left_source == source
    form = client.get(url).context["adminform"].form
    assert form["left_on"].value() == D(2022, 12, 31)
    # Saved again as shown, nothing moves.
    again = client.post(url, {**data, "left_on": "2022-12-31"})
    assert again.status_code == 302
    membership.refresh_from_db()
    assert membership.left_on == D(2023, 1, 1)


def _end(client, pks, list_filter="", **fields):
    data = {
        "action": "end_memberships",
        "_selected_action": pks,
        "apply": "1",
        "left_on": "2022-12-31",
        "left_precision": "end_year",
        "left_reason": "left",
        **fields,
    }
    return client.post(reverse("admin:members_membership_changelist") + list_filter, data)


def test_the_end_action_ends_the_selection_at_the_end_of_2022_with_its_reason_and_source(
    client, staff_member
):
    client.force_login(staff_member("administrator"))
    federation = FederationFactory()
    first, second = (MembershipFactory(federation=federation, joined_on=D(2017, 1, 1)) for _ in range(2))
    source = SourceFactory(title="Secretariat record", published_on=None)
    response = _end(client, [first.pk, second.pk], left_source=source.pk, left_source_note="Both left.")
    assert response.status_code == 302
    for membership in (first, second):
        membership.refresh_from_db()
        assert (membership.left_on, membership.left_precision) == (D(2023, 1, 1), "end_year")
        assert (membership.left_source, membership.left_source_note) == (source, "Both left.")
    assert federation_figures(federation, D(2022, 12, 31)).members == 2
    assert federation_figures(federation, D(2023, 1, 1)).members == 0


def test_the_end_action_refuses_by_name_a_membership_that_would_end_before_it_starts_and_ends_none(
    client, staff_member
):
    client.force_login(staff_member("administrator"))
    federation = FederationFactory(acronym="FED")
    fine = MembershipFactory(federation=federation, joined_on=D(2017, 1, 1))
    late = MembershipFactory(federation=federation, member__acronym="LATE", joined_on=D(2024, 3, 1))
    response = _end(client, [fine.pk, late.pk])
    assert response.status_code == 200
    assert any("LATE in FED" in message for message in response.context["refused"])
    page = response.content.decode()
    assert "LATE in FED" in page
    assert "already ended" not in page, "the page shows the memberships as stored, not as attempted"
    assert not Membership.objects.filter(pk__in=[fine.pk, late.pk], left_on__isnull=False).exists()


@pytest.mark.parametrize(
    "fields",
    [{"left_on": "31/31/2022"}, {"left_on": ""}, {"left_precision": "whenever"}, {"left_reason": "merged"}],
)
def test_the_end_action_refuses_a_bad_date_or_reason_and_ends_nothing(client, staff_member, fields):
    client.force_login(staff_member("administrator"))
    membership = MembershipFactory(joined_on=D(2017, 1, 1))
    response = _end(client, [membership.pk], **fields)
    assert response.status_code == 200
    assert response.context["form"].errors or response.context["refused"]
    membership.refresh_from_db()
    assert membership.left_on is None


def test_the_end_action_refuses_a_membership_that_has_already_ended(client, staff_member):
    client.force_login(staff_member("administrator"))
    ended = MembershipFactory(member__acronym="GONE", joined_on=D(2017, 1, 1), left_on=D(2020, 1, 1))
    # The list shows current members unless asked for all; the action acts on what the list shows.
    response = _end(client, [ended.pk], list_filter="?status=all")
    assert response.status_code == 200
    assert any("GONE" in message and "already ended" in message for message in response.context["refused"])
    ended.refresh_from_db()
    assert ended.left_on == D(2020, 1, 1)
