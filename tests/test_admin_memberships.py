"""The membership rows of an organisation's admin page are checked together, not only one by one.

Each row's own validation compares it with the register as stored; two rows
entered on the same page must also be compared with each other, or two
overlapping periods of one federation are both saved (SQLite) or the save
fails on the exclusion constraint (PostgreSQL). These run on both databases.
"""

import datetime

import pytest
from django.urls import reverse

from members.dates import format_at_precision
from members.models import Membership, Organisation
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory
from tests.test_admin_permissions import post_data_from

PREFIX = "memberships"


@pytest.fixture
def cecop(db):
    return FederationFactory(name="CECOP – CICOPA Europe", acronym="CECOP", kind=Organisation.Kind.REGIONAL)


@pytest.fixture
def member(db):
    return OrganisationFactory(name="Coopérative des Tisserands", acronym="CDT")


@pytest.fixture
def administrator(staff_member):
    return staff_member("administrator")


def _add_rows(data, *rows):
    """Append new membership rows to the POST data of an organisation's page."""
    first = int(data[f"{PREFIX}-TOTAL_FORMS"])
    for offset, row in enumerate(rows):
        for field, value in {
            "category": "full",
            "joined_precision": "day",
            "left_precision": "day",
            **row,
        }.items():
            data[f"{PREFIX}-{first + offset}-{field}"] = str(value)
    data[f"{PREFIX}-TOTAL_FORMS"] = str(first + len(rows))
    return data


def _page(client, user, organisation):
    client.force_login(user)
    url = reverse("admin:members_organisation_change", args=[organisation.pk])
    return url, client.get(url)


def _row_errors(response):
    """Return every message given to a membership row, row by row."""
    (formset,) = [
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == PREFIX
    ]
    return [[message for messages in form.errors.values() for message in messages] for form in formset.forms]


def _span(joined, left=None):
    day = format_at_precision(joined, "day")
    if left is None:
        return f"from {day} with no end date"
    return f"from {day} until {format_at_precision(left, 'day')}"


def test_two_overlapping_new_rows_of_one_federation_are_refused_and_nothing_is_saved(
    client, administrator, cecop, member
):
    url, page = _page(client, administrator, member)
    data = _add_rows(
        post_data_from(page),
        {"federation": cecop.pk, "joined_on": "2010-01-01", "left_on": "2015-01-01"},
        {"federation": cecop.pk, "joined_on": "2014-01-01"},
    )

    response = client.post(url, data)

    assert response.status_code == 200
    errors = [message for row in _row_errors(response) for message in row]
    assert len(errors) == 1
    # The message names both periods, the one refused and the one it overlaps.
    assert _span(datetime.date(2014, 1, 1)) in errors[0]
    assert _span(datetime.date(2010, 1, 1), datetime.date(2015, 1, 1)) in errors[0]
    assert "cannot overlap" in errors[0]
    assert not Membership.objects.filter(member=member).exists()


def test_changing_a_stored_row_into_overlap_with_a_new_row_is_refused(client, administrator, cecop, member):
    stored = MembershipFactory(
        member=member,
        federation=cecop,
        joined_on=datetime.date(2010, 1, 1),
        left_on=datetime.date(2012, 1, 1),
    )
    url, page = _page(client, administrator, member)
    data = post_data_from(page)
    # Each row alone is fine against the register as stored; together they overlap.
    data[f"{PREFIX}-0-left_on"] = "2014-01-01"
    _add_rows(data, {"federation": cecop.pk, "joined_on": "2013-01-01"})

    response = client.post(url, data)

    assert response.status_code == 200
    errors = [message for row in _row_errors(response) for message in row]
    assert len(errors) == 1
    assert _span(datetime.date(2013, 1, 1)) in errors[0]
    assert _span(datetime.date(2010, 1, 1), datetime.date(2014, 1, 1)) in errors[0]
    stored.refresh_from_db()
    assert stored.left_on == datetime.date(2012, 1, 1)
    assert list(Membership.objects.filter(member=member)) == [stored]


def test_two_new_rows_that_do_not_overlap_are_both_saved(client, administrator, cecop, member):
    url, page = _page(client, administrator, member)
    # The first period ends on the day the second starts: they share no day.
    data = _add_rows(
        post_data_from(page),
        {"federation": cecop.pk, "joined_on": "2010-01-01", "left_on": "2014-01-01"},
        {"federation": cecop.pk, "joined_on": "2014-01-01"},
    )

    response = client.post(url, data)

    assert response.status_code == 302
    periods = Membership.objects.filter(member=member, federation=cecop).order_by("joined_on")
    assert [(m.joined_on, m.left_on) for m in periods] == [
        (datetime.date(2010, 1, 1), datetime.date(2014, 1, 1)),
        (datetime.date(2014, 1, 1), None),
    ]


def test_overlapping_rows_of_different_federations_are_both_saved(client, administrator, cecop, member):
    other = FederationFactory(name="Another federation", acronym="OTHER")
    url, page = _page(client, administrator, member)
    data = _add_rows(
        post_data_from(page),
        {"federation": cecop.pk, "joined_on": "2010-01-01"},
        {"federation": other.pk, "joined_on": "2010-01-01"},
    )

    assert client.post(url, data).status_code == 302
    assert Membership.objects.filter(member=member).count() == 2


def test_a_row_refused_for_its_own_dates_gets_that_one_message_only(client, administrator, cecop, member):
    url, page = _page(client, administrator, member)
    data = _add_rows(
        post_data_from(page),
        {"federation": cecop.pk, "joined_on": "2014-01-01", "left_on": "2010-01-01"},
        {"federation": cecop.pk, "joined_on": "2012-01-01"},
    )

    response = client.post(url, data)

    assert response.status_code == 200
    assert _row_errors(response) == [["A membership must end after the day it starts."], []]
    assert not Membership.objects.filter(member=member).exists()


def test_an_editor_entering_two_overlapping_rows_of_their_federation_is_refused(
    client, staff_member, cecop, member
):
    editor = staff_member("editor", [cecop])
    url, page = _page(client, editor, member)
    data = _add_rows(
        post_data_from(page),
        {"federation": cecop.pk, "joined_on": "2010-01-01"},
        {"federation": cecop.pk, "joined_on": "2011-06-01", "left_on": "2012-01-01"},
    )

    response = client.post(url, data)

    assert response.status_code == 200
    errors = [message for row in _row_errors(response) for message in row]
    assert len(errors) == 1
    assert _span(datetime.date(2010, 1, 1)) in errors[0]
    assert not Membership.objects.filter(member=member).exists()


def test_a_new_organisation_with_two_overlapping_rows_is_refused_and_not_created(
    client, administrator, cecop
):
    client.force_login(administrator)
    url = reverse("admin:members_organisation_add")
    data = post_data_from(client.get(url))
    data.update({"name": "Nouvelle coopérative", "slug": "nouvelle-cooperative", "kind": "cooperative"})
    data["country"] = "FR"
    _add_rows(
        data,
        {"federation": cecop.pk, "joined_on": "2010-01-01"},
        {"federation": cecop.pk, "joined_on": "2012-01-01", "left_on": "2013-01-01"},
    )

    response = client.post(url, data)

    assert response.status_code == 200
    errors = [message for row in _row_errors(response) for message in row]
    assert len(errors) == 1
    assert "Nouvelle coopérative" in errors[0]
    assert _span(datetime.date(2012, 1, 1), datetime.date(2013, 1, 1)) in errors[0]
    assert _span(datetime.date(2010, 1, 1)) in errors[0]
    assert not Organisation.objects.filter(slug="nouvelle-cooperative").exists()
