"""Addresses no page can use, public or staff: never a 500.

An address holding NUL is refused with 400 (PostgreSQL cannot compare such a
string); a list filter takes only what it can use, and any list given a
parameter it cannot use shows itself without filters and says so.
"""

import datetime

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.messages import get_messages
from django.urls import reverse

from members.models import CountryRegion, Organisation
from tests.factories import DeclaredFiguresFactory, FederationFactory, MembershipFactory, SourceFactory

NUL = "\x00"
ADMIN = "/" + settings.ADMIN_PATH


@pytest.fixture
def register(db):
    """The least of a register every list and menu has something in: a federation with a member."""
    federation = FederationFactory(slug="fed", kind=Organisation.Kind.INTERNATIONAL, country="BE")
    source = SourceFactory()
    membership = MembershipFactory(
        federation=federation, member__slug="org", source=source, joined_on=datetime.date(2017, 5, 1)
    )
    DeclaredFiguresFactory(organisation=federation, source=source)
    # The regions' countries are reference data from the migrations: a few keep the list short.
    CountryRegion.objects.exclude(country__in=["BE", "FR", "IN"]).delete()
    return {"federation": federation, "member": membership.member}


@pytest.fixture
def administrator_client(register, client, staff_member):
    """Django's own client, which keeps cookies (the admin's messages) and contexts."""
    client.force_login(staff_member("administrator"))
    return client


@pytest.mark.parametrize(
    ("address", "params"),
    [
        ("/en/organisations/", {"federation": NUL}),
        ("/en/statistics/", {"federation": NUL}),
        ("/en/organisations/", {"q": f"fed{NUL}"}),
        ("/en/organisations/", {f"q{NUL}": "fed"}),
        ("/data/register.json", {"federation": NUL}),
        ("/en/organisations/%00/", {}),
        (f"{ADMIN}members/organisation/", {"country": NUL}),
        (f"{ADMIN}members/organisation/%00/history/", {}),
        (
            f"{ADMIN}autocomplete/",
            {"app_label": "members", "model_name": "membership", "field_name": "federation", "term": NUL},
        ),
    ],
)
def test_an_address_holding_nul_is_answered_400_whatever_the_database(administrator_client, address, params):
    # PostgreSQL cannot compare a string holding NUL: such a value failed there as a 500.
    response = administrator_client.get(address, params)
    assert response.status_code == 400
    assert "Address not understood" in response.content.decode()


def test_the_400_page_is_in_the_readers_language(client, register):
    response = client.get("/fr/organisations/", {"q": NUL})
    assert response.status_code == 400
    assert '<html lang="fr">' in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"federation": "abc"},
        {"federation": "²"},
        {"federation": "99999999999999999999"},
        {"joined": "abc"},
        {"joined": "99999999999"},
        {"status": "bogus"},
        {"category": "bogus"},
    ],
)
@pytest.mark.parametrize("model", ["organisation", "membership"])
def test_an_admin_list_filter_given_a_value_it_cannot_use_shows_the_list_without_filters_and_says_so(
    administrator_client, model, params
):
    address = reverse(f"admin:members_{model}_changelist")
    response = administrator_client.get(address, params)

    assert response.status_code == 302
    assert response["Location"] == f"{address}?{ERROR_FLAG}=1"
    listed = administrator_client.get(response["Location"])
    assert listed.status_code == 200
    assert "could not be filtered as its address asked" in listed.content.decode()


@pytest.mark.parametrize("year", ["9999", "99999999999999999999"])
def test_a_date_hierarchy_year_no_date_can_hold_shows_the_list_without_filters(administrator_client, year):
    # Django 5.2 let these escape as ValueError and OverflowError (Django ticket #37357).
    address = reverse("admin:members_declaredfigures_changelist")
    response = administrator_client.get(address, {"declared_on__year": year, "declared_on__month": "12"})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "The list could not be filtered as its address asked, so it is shown without filters."
    ]


def test_a_plausible_year_nobody_joined_lists_no_one_rather_than_being_refused(administrator_client):
    response = administrator_client.get(reverse("admin:members_membership_changelist"), {"joined": "1900"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_the_admins_export_of_filters_it_cannot_use_exports_nothing_and_says_so(administrator_client):
    response = administrator_client.get(reverse("admin:members_organisation_export_csv"), {"bogus": "1"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:members_organisation_changelist")
    assert "Nothing was exported" in " ".join(str(m) for m in get_messages(response.wsgi_request))


@pytest.mark.parametrize("path", ["abc/history/", "1.5/history/", "{pk}/history/abc/", "{pk}/history/²/"])
def test_the_history_of_an_id_no_record_can_have_is_404(administrator_client, register, path):
    address = f"{ADMIN}members/organisation/{path.format(pk=register['member'].pk)}"
    assert administrator_client.get(address).status_code == 404


def test_every_admin_list_answers_parameters_it_cannot_use_the_same_way(register):
    from members.admin.mixins import CheckedListMixin

    assert all(isinstance(model_admin, CheckedListMixin) for model_admin in admin.site._registry.values())
