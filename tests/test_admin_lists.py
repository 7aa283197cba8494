"""The admin's lists: filters, search, fixed query counts, capped counting; the consistency page."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from members.admin.filters import CappedCountPaginator
from members.models import AdmissionRule, Organisation
from tests.factories import DeclaredFiguresFactory, FederationFactory, MembershipFactory, OrganisationFactory

TODAY = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def network(db):
    cicopa = FederationFactory(
        name="CICOPA", acronym="CICOPA", kind=Organisation.Kind.INTERNATIONAL, country="BE"
    )
    cecop = FederationFactory(
        name="CECOP – CICOPA Europe", acronym="CECOP", kind=Organisation.Kind.REGIONAL, country="BE"
    )
    smart = OrganisationFactory(name="SMart", country="BE", city="Bruxelles")
    credit = OrganisationFactory(name="Crédit Coopératif", country="FR", city="Nanterre", kind="bank")
    ulccs = OrganisationFactory(name="ULCCS", country="IN", city="Kozhikode")
    MembershipFactory(member=smart, federation=cecop, joined_on=datetime.date(2017, 5, 1))
    MembershipFactory(member=smart, federation=cicopa, joined_on=datetime.date(2017, 5, 1))
    MembershipFactory(
        member=credit,
        federation=cecop,
        joined_on=datetime.date(2001, 1, 1),
        left_on=datetime.date(2010, 1, 1),
    )
    MembershipFactory(member=ulccs, federation=cicopa, joined_on=datetime.date(2017, 3, 1))
    return {"cicopa": cicopa, "cecop": cecop, "smart": smart, "credit": credit, "ulccs": ulccs}


@pytest.fixture
def administrator_client(client, staff_member):
    client.force_login(staff_member("administrator"))
    return client


def _names(response):
    return sorted(str(row) for row in response.context["cl"].result_list)


def _organisations(client, query=""):
    return client.get(reverse("admin:members_organisation_changelist") + query)


def test_the_organisation_list_shows_every_organisation_by_default(administrator_client, network):
    response = _organisations(administrator_client)

    assert _names(response) == sorted(str(o) for o in Organisation.objects.all())


def test_the_membership_filters_describe_one_and_the_same_membership(administrator_client, network):
    cecop = network["cecop"].pk

    current = _organisations(administrator_client, f"?federation={cecop}&status=current")
    former = _organisations(administrator_client, f"?federation={cecop}&status=former")
    joined_2017 = _organisations(administrator_client, "?joined=2017")
    never = _organisations(administrator_client, "?status=never")

    assert _names(current) == ["SMart"]
    assert _names(former) == ["Crédit Coopératif"]
    assert _names(joined_2017) == ["SMart", "ULCCS"]
    assert _names(never) == ["CECOP – CICOPA Europe (CECOP)", "CICOPA"]


def test_the_organisation_list_filters_by_region_country_and_kind(administrator_client, network):
    assert _names(_organisations(administrator_client, "?region=asia-pacific")) == ["ULCCS"]
    assert _names(_organisations(administrator_client, "?country=FR")) == ["Crédit Coopératif"]
    assert _names(_organisations(administrator_client, "?kind__exact=bank")) == ["Crédit Coopératif"]


def test_the_organisation_list_shows_country_names_federations_and_membership_state(
    administrator_client, network
):
    page = _organisations(administrator_client, "?q=SMart").content.decode()

    assert "Belgium" in page
    assert "CECOP, CICOPA" in page
    assert ">current<" in page


def test_the_membership_list_shows_current_members_unless_asked_otherwise(administrator_client, network):
    url = reverse("admin:members_membership_changelist")

    default = administrator_client.get(url + f"?federation={network['cecop'].pk}")
    every = administrator_client.get(url + f"?federation={network['cecop'].pk}&status=all")

    assert [m.member.name for m in default.context["cl"].result_list] == ["SMart"]
    assert sorted(m.member.name for m in every.context["cl"].result_list) == ["Crédit Coopératif", "SMart"]


def test_search_finds_names_acronyms_and_cities(administrator_client, network):
    assert _names(_organisations(administrator_client, "?q=kozhikode")) == ["ULCCS"]
    assert _names(_organisations(administrator_client, "?q=cecop")) == ["CECOP – CICOPA Europe (CECOP)"]


@pytest.mark.postgresql
def test_search_ignores_accents_on_postgresql(administrator_client, network):
    assert _names(_organisations(administrator_client, "?q=credit cooperatif")) == ["Crédit Coopératif"]


def _grow(network, how_many):
    for n in range(how_many):
        member = OrganisationFactory(name=f"Grown {n}", country=["BE", "FR", "IT", "ES"][n % 4])
        MembershipFactory(member=member, federation=network["cecop"])
        MembershipFactory(member=member, federation=network["cicopa"], left_on=datetime.date(2020, 1, 1))
        DeclaredFiguresFactory(organisation=member)


# Every list: the session, the user, the user's and the groups' permissions, whether the
# user is a registry administrator (members/permissions.py, once per request).
SIGNED_IN = 5
LISTS = [
    # Organisations: the filters' choices (federations, regions, countries, years joined),
    # the capped count, the page, its memberships with their federations (one prefetch).
    ("admin:members_organisation_changelist", "", SIGNED_IN + 7),
    ("admin:members_organisation_changelist", "?status=current&federation={cecop}", SIGNED_IN + 7),
    # Memberships: the filters' choices (federations, regions, countries, years joined),
    # the capped count, the page with members and federations joined in.
    ("admin:members_membership_changelist", "", SIGNED_IN + 6),
    # Declared figures: the capped count, the page with organisations and sources joined in,
    # the date hierarchy's first and last dates and its years, the years (filter).
    ("admin:members_declaredfigures_changelist", "", SIGNED_IN + 5),
]


@pytest.mark.parametrize(("name", "query", "queries"), LISTS)
def test_each_list_runs_the_same_number_of_queries_on_small_and_larger_data(
    administrator_client, network, django_assert_num_queries, name, query, queries
):
    url = reverse(name) + query.format(cecop=network["cecop"].pk)
    administrator_client.get(url)  # warm the content-type and session caches

    with django_assert_num_queries(queries):
        small = administrator_client.get(url)
    _grow(network, 60)
    with django_assert_num_queries(queries):
        larger = administrator_client.get(url)

    assert small.status_code == larger.status_code == 200
    assert larger.context["cl"].result_count > small.context["cl"].result_count


def test_a_long_list_is_counted_only_up_to_the_cap(administrator_client, network, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "CAP", 3)

    with_cap = _organisations(administrator_client)

    assert with_cap.context["cl"].result_count == 3
    assert "More than 3 organisations" in with_cap.content.decode()


def test_the_count_of_a_long_list_is_a_bounded_query(administrator_client, network, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "CAP", 3)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        _organisations(administrator_client)

    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the paginator counts"
    assert all("LIMIT 4" in sql for sql in counts), counts


def test_the_consistency_page_lists_each_breach_with_a_link_to_fix_it(administrator_client, network):
    AdmissionRule.objects.create(federation=network["cecop"], requires=network["cicopa"])
    lonely = OrganisationFactory(name="Lonely co-operative")
    MembershipFactory(member=lonely, federation=network["cecop"])

    page = administrator_client.get(reverse("admin:members_organisation_consistency")).content.decode()

    assert "Lonely co-operative" in page
    assert "SMart" not in page
    assert reverse("admin:members_organisation_change", args=[lonely.pk]) in page
    assert f"?member={lonely.pk}&amp;federation={network['cicopa'].pk}" in page


def test_a_federations_page_shows_its_figures_as_of_today(administrator_client, network):
    DeclaredFiguresFactory(organisation=network["smart"], enterprises=3, employment=1234)
    DeclaredFiguresFactory(
        organisation=network["cecop"],
        declared_on=datetime.date(2025, 6, 1),
        year=2024,
        member_organisations=27,
        employment=None,
    )

    page = administrator_client.get(
        reverse("admin:members_organisation_change", args=[network["cecop"].pk])
    ).content.decode()

    assert "Figures today" in page
    assert "1,234" in page
    assert "27 (declared" in page
    assert "1 of 1 members declared figures" in page
    assert reverse("admin:members_membership_changelist") + f"?federation={network['cecop'].pk}" in page


def test_the_federation_filter_offers_the_international_and_regional_federations_and_the_one_chosen(
    administrator_client, network
):
    national = FederationFactory(name="LIGACOOP", acronym="LIGACOOP", kind=Organisation.Kind.NATIONAL)
    MembershipFactory(federation=national)
    url = reverse("admin:members_membership_changelist")

    def offered(response):
        spec = next(f for f in response.context["cl"].filter_specs if f.parameter_name == "federation")
        return sorted(title for _value, title in spec.lookup_choices)

    assert offered(administrator_client.get(url)) == ["CECOP", "CICOPA"]
    chosen = administrator_client.get(url + f"?federation={national.pk}")
    assert offered(chosen) == ["CECOP", "CICOPA", "LIGACOOP"]
    assert [m.federation for m in chosen.context["cl"].result_list] == [national]


def test_the_year_filter_offers_every_year_from_the_first_to_the_last_join(administrator_client, network):
    response = administrator_client.get(reverse("admin:members_membership_changelist"))

    spec = next(f for f in response.context["cl"].filter_specs if f.parameter_name == "joined")
    years = [int(value) for value, _title in spec.lookup_choices]
    assert years == list(range(2017, 2000, -1))


def test_a_member_that_has_no_members_shows_no_figures(administrator_client, network):
    page = administrator_client.get(
        reverse("admin:members_organisation_change", args=[network["ulccs"].pk])
    ).content.decode()

    assert "Figures today" not in page


def test_the_organisation_list_links_to_the_consistency_page_and_the_csv_views(administrator_client, network):
    page = _organisations(administrator_client).content.decode()

    assert reverse("admin:members_organisation_consistency") in page
    assert reverse("admin:members_organisation_import_csv") in page


def test_the_organisation_list_says_not_yet_for_an_organisation_whose_memberships_all_start_later(
    administrator_client, db
):
    import datetime

    from django.utils import timezone

    from tests.factories import MembershipFactory

    later = timezone.localdate() + datetime.timedelta(days=30)
    membership = MembershipFactory(joined_on=later)
    response = administrator_client.get(
        reverse("admin:members_organisation_changelist"), {"q": membership.member.name}
    )
    changelist = response.context["cl"]
    (organisation,) = [o for o in changelist.result_list if o.pk == membership.member_id]
    assert changelist.model_admin.membership_status(organisation) == "not yet"
