"""No address answers 500, however it was made: bad values in every parameter of every page and list.

The parameters walked are the product's own: each public page's (members/urls.py,
the directory's FilterSet, the CSV's export options) and each admin list's (its
list filters' expected parameters and its date hierarchy's, read off its
ChangeList). Each gets NUL, 10,000 characters, a non-number, a negative and an
out-of-range number. A page may answer 400, 404, a redirect, or a list that is
empty or unfiltered and says why; never 500. On PostgreSQL too, which cannot
compare a string holding NUL.

A reader walks every public page and an administrator every admin list, with
every value in every parameter. Signed in, a public page only skips the page
cache; signed out, every admin address answers with the sign-in page. So
the other persona walks each page and list with NUL and the overlong value in
one parameter: what differs for them reads no value.
"""

import datetime
from typing import get_type_hints

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG, ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.contrib.messages import get_messages
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver, reverse

from members.admin.mixins import CappedListMixin, UnaccentSearchMixin
from members.csv_io.export import ExportOptions
from members.filters import DirectoryFilter
from members.models import CountryRegion, Organisation
from members.urls import DIRECTORY_PARAMS, FEDERATION_PARAMS, NEWS_PARAMS, STATISTICS_PARAMS
from tests.factories import DeclaredFiguresFactory, FederationFactory, MembershipFactory, SourceFactory

NUL = "\x00"
BAD_VALUES = [
    NUL,
    "9" * 10_000,  # overlong, and more digits than Python's int() reads by default
    "²",  # not a number, though str.isdigit() calls it a digit
    "-1",
    "99999999999999999999",  # beyond a 64-bit integer
]
# Path segments of a public page's address: what its converter lets through, and NUL.
BAD_SEGMENTS = ["%00", "9" * 10_000, "abc", "-1", "99999999999999999999"]
# The admin's object ids and version numbers are any text up to the next slash.
BAD_IDS = ["%00", "9" * 10_000, "²", "-1", "99999999999999999999", "1.5"]

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


class StatusClient(Client):
    """A test client for reading status codes: a 500 is a response, and no template's context is kept.

    Django's client copies the context of every template a page renders, for
    assertions on them; an admin page renders dozens, and the walk sends hundreds.
    """

    def request(self, **request):
        return self.handler(self._base_environ(**request))


@pytest.fixture
def reader(register):
    return StatusClient()


@pytest.fixture
def administrator(register, staff_member):
    client = StatusClient()
    client.force_login(staff_member("administrator"))
    return client


@pytest.fixture
def administrator_client(register, client, staff_member):
    """Django's own client, which keeps cookies (the admin's messages) and contexts."""
    client.force_login(staff_member("administrator"))
    return client


def assert_no_server_error(client, requests):
    """Send each (address, parameters) and fail listing every one answered 5xx."""
    failures = []
    for address, params in requests:
        response = client.get(address, params)
        if response.status_code >= 500:
            shown = {name: value[:12] for name, value in params.items()}
            failures.append(f"{response.status_code} {address[:60]} {shown}")
    assert not failures, f"{len(failures)} of {len(requests)} answered 5xx:\n" + "\n".join(failures)


# --- What is walked --------------------------------------------------------------


def public_pages():
    """{URL name: (address, the query parameters it reads)} for every public page, feed and probe."""
    directory_filters = list(DirectoryFilter.base_filters)
    return {
        "members:home": ("/en/", []),
        "members:organisation-list": ("/en/organisations/", DIRECTORY_PARAMS),
        "members:directory-csv": (
            "/en/organisations.csv",
            [*directory_filters, *get_type_hints(ExportOptions)],
        ),
        "members:organisation-detail": ("/en/organisations/org/", []),
        "members:federation-detail": ("/en/federations/fed/", FEDERATION_PARAMS),
        "members:statistics": ("/en/statistics/", STATISTICS_PARAMS),
        "members:news": ("/en/news/", NEWS_PARAMS),
        "members:about": ("/en/about/", []),
        "members:events-rss": ("/en/feeds/events.rss", []),
        "members:events-atom": ("/en/feeds/events.atom", []),
        "members:federation-events-rss": ("/en/federations/fed/events.rss", []),
        "members:federation-events-atom": ("/en/federations/fed/events.atom", []),
        # A member's figures round form: its one parameter is the signed link in the path.
        "members:round-answer": ("/en/round/not-a-link/", []),
        "opendata-register": ("/data/register.json", directory_filters),
        "favicon": ("/favicon.ico", []),
        "healthz": ("/healthz", []),
        "readyz": ("/readyz", []),
    }


def admin_lists(user):
    """[(changelist address, its parameters)] of every registered ModelAdmin, read off its ChangeList.

    Every list filter's parameters and the date hierarchy's; search, ordering
    and page too on the lists whose search or paginator is the register's own
    (the others use Django's, and the same way).
    """
    lists = []
    for model, model_admin in admin.site._registry.items():
        request = RequestFactory().get("/")
        request.user = user
        changelist = model_admin.get_changelist_instance(request)
        params = [name for spec in changelist.filter_specs for name in spec.expected_parameters()]
        if model_admin.date_hierarchy:
            params += [f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")]
        if isinstance(model_admin, UnaccentSearchMixin | CappedListMixin):
            params += [SEARCH_VAR, ORDER_VAR, PAGE_VAR]
        address = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        lists.append((address, [name for name in params if name is not None]))
    return lists


def _url_names(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            # The admin's, and the figures rounds' review pages below the admin's address
            # (tests/test_round_review_admin.py), are staff pages, not public ones.
            if pattern.app_name not in ("admin", "round-review"):
                inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                yield from _url_names(pattern.url_patterns, inner)
        elif pattern.name:
            yield namespace + pattern.name


def test_the_walk_covers_every_public_address():
    assert set(_url_names(get_resolver().url_patterns)) == set(public_pages())


def test_the_walk_covers_every_filter_of_the_admins_lists(register, staff_member):
    lists = dict(admin_lists(staff_member("administrator")))
    organisations = set(lists[reverse("admin:members_organisation_changelist")])
    memberships = set(lists[reverse("admin:members_membership_changelist")])
    assert {"federation", "region", "country", "kind__exact", "category", "status", "joined"} <= organisations
    assert {"federation", "region", "country", "kind", "category", "status", "joined"} <= memberships
    assert len(lists) == len(admin.site._registry)


# --- The walks -------------------------------------------------------------------


def test_no_bad_value_of_any_public_page_parameter_answers_500_to_a_reader(reader):
    requests = []
    for address, params in public_pages().values():
        requests += [(address, {name: value}) for name in params for value in BAD_VALUES]
        # A parameter the page does not read changes nothing, unless it holds NUL.
        requests += [(address, {"bogus": value}) for value in BAD_VALUES[:2]]
    for template in (
        "/en/organisations/{}/",
        "/en/federations/{}/",
        "/en/federations/{}/events.atom",
        "/en/round/{}/",
    ):
        requests += [(template.format(segment), {}) for segment in BAD_SEGMENTS]
    assert_no_server_error(reader, requests)


def test_no_bad_value_of_any_admin_list_parameter_answers_500_to_an_administrator(
    administrator, staff_member
):
    requests = [
        (address, {name: value})
        for address, params in admin_lists(staff_member("administrator"))
        for name in params
        for value in BAD_VALUES
    ]
    assert_no_server_error(administrator, requests)


def test_no_bad_value_answers_500_to_the_other_persona_either(reader, administrator, staff_member):
    def one_parameter_each(pages):
        return [
            (address, {(params or ["bogus"])[0]: value})
            for address, params in pages
            for value in BAD_VALUES[:2]
        ]

    assert_no_server_error(administrator, one_parameter_each(public_pages().values()))
    assert_no_server_error(reader, one_parameter_each(admin_lists(staff_member("administrator"))))


@pytest.mark.parametrize("persona", ["administrator", "reader"])
def test_no_bad_id_term_or_filter_of_the_admins_history_autocomplete_and_export_answers_500(
    request, register, persona
):
    client = request.getfixturevalue(persona)
    organisation = register["member"].pk
    requests = []
    for bad in BAD_IDS:
        # The history of the three models that keep one, and Django's own pages of a record.
        for model in ("organisation", "membership", "declaredfigures"):
            requests.append((f"{ADMIN}members/{model}/{bad}/history/", {}))
        requests += [(f"{ADMIN}members/organisation/{bad}/{view}/", {}) for view in ("change", "delete")]
        requests.append((f"{ADMIN}members/organisation/{organisation}/history/{bad}/", {}))
    autocomplete = {"app_label": "members", "model_name": "membership", "field_name": "federation"}
    for name in [*autocomplete, "term", "page"]:
        requests += [
            (f"{ADMIN}autocomplete/", {**autocomplete, "term": "f", name: value}) for value in BAD_VALUES
        ]
    for export in (f"{ADMIN}members/organisation/export-csv/", f"{ADMIN}members/organisation/export/"):
        for name in [
            "bogus",
            "federation",
            "joined",
            "joined_half",
            "left_from",
            SEARCH_VAR,
            "bom",
            "delimiter",
        ]:
            requests += [(export, {name: value}) for value in BAD_VALUES]
    for page in ("import-csv/", "consistency/"):
        requests += [(f"{ADMIN}members/organisation/{page}", {"bogus": value}) for value in BAD_VALUES[:2]]
    requests += [(f"{ADMIN}members/organisation/consistency/", {"as_of": value}) for value in BAD_VALUES]
    # The add forms the admission rules' fixes open pre-filled from the address.
    for name in ("member", "federation", "joined_on", "joined_precision", "note"):
        for form in ("membership", "membershiprequest"):
            requests += [(f"{ADMIN}members/{form}/add/", {name: value}) for value in BAD_VALUES]
    assert_no_server_error(client, requests)


# --- How each is answered --------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "params"),
    [
        ("/en/organisations/", {"federation": NUL}),
        ("/en/statistics/", {"federation": NUL}),
        ("/en/news/", {"federation": NUL}),
        ("/en/news/", {"start": NUL}),
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
