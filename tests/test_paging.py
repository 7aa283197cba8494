"""Deep pages cut by members/paging.py hold exactly the rows Django's own Paginator gives."""

import datetime

import pytest
from django.core.paginator import Paginator

from members import news
from members.filters import DirectoryFilter
from members.models import Organisation
from members.news import Period
from members.paging import DeepPaginator
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory


@pytest.fixture
def register(db):
    federation = FederationFactory(name="Federation", slug="federation")
    for number in range(23):
        # Repeated names and years, so that the order's last key (the id) decides ties.
        MembershipFactory(
            federation=federation,
            member__name=f"Member {number % 7}",
            member__slug=f"member-{number}",
            member__country=["BE", "FR", "IN"][number % 3],
            joined_on=datetime.date(2000 + number % 4, 1, 1),
            left_on=datetime.date(2010, 1, 1) if number % 5 == 0 else None,
        )
    for number in range(3):  # no join: "not known", which sorts last either way
        OrganisationFactory(name=f"Member {number}", slug=f"unjoined-{number}")
    return federation


def pages(paginator):
    return [[row.pk for row in paginator.page(number).object_list] for number in paginator.page_range]


@pytest.mark.parametrize("sort", ["name", "-name", "country", "-country", "joined", "-joined"])
@pytest.mark.parametrize(
    "filters", [{}, {"federation": "federation", "status": "current"}, {"q": "member 3"}]
)
def test_every_directory_page_holds_the_rows_of_an_offset_page(register, sort, filters):
    queryset = DirectoryFilter({"sort": sort, **filters}, queryset=Organisation.objects.all()).qs
    for per_page, orphans in ((3, 0), (4, 2), (25, 0)):
        expected = pages(Paginator(queryset, per_page, orphans=orphans))
        assert pages(DeepPaginator(queryset, per_page, orphans=orphans)) == expected
        assert [pk for page in expected for pk in page] == list(queryset.values_list("pk", flat=True))


def test_every_news_page_holds_the_rows_of_an_offset_page(register):
    rows = news.event_rows(Period())
    assert rows.count() > 23  # joins and departures
    for per_page in (2, 5):
        deep = DeepPaginator(rows, per_page)
        plain = Paginator(rows, per_page)
        assert [list(deep.page(n).object_list) for n in deep.page_range] == [
            list(plain.page(n).object_list) for n in plain.page_range
        ]


def test_the_last_directory_page_runs_the_queries_of_the_first_and_lists_the_last_names(
    client, db, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from members.cache import forget_all

    Organisation.objects.bulk_create(
        [Organisation(name=f"Organisation {n:03d}", slug=f"o-{n}", kind="cooperative") for n in range(80)]
    )
    client.get("/en/organisations/")  # warm the per-process caches
    forget_all()
    with CaptureQueriesContext(connection) as first:
        assert client.get("/en/organisations/").status_code == 200
    forget_all()
    with django_assert_num_queries(len(first)):
        last = client.get("/en/organisations/?page=last")
    assert last.context["page_obj"].number == 4
    assert [o.name for o in last.context["object_list"]] == [f"Organisation {n:03d}" for n in range(75, 80)]
