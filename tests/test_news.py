"""The news page: joins and departures by federation and year, half-year, month or range, counted, paged."""

import datetime
import re

import pytest

from members.dates import DatePrecision
from members.models import Membership, Organisation
from members.views import NEWS_PAGE_SIZE
from tests.factories import FederationFactory, MembershipFactory, OrganisationFactory

LANGUAGES = ["en", "fr", "es"]


def news(client, language="en", status=200, **params):
    response = client.get(f"/{language}/news/", params)
    assert response.status_code == status, response.content.decode()[:2000]
    return response


def listed(response):
    """The (member's short name, "joined"/"left") of each event on the page, in order, read off the page."""
    html = response.content.decode()
    events = re.findall(r'#membership-\d+-(joined|left)"[^>]*>([^<]+)</a>', html)
    return [(name, kind) for kind, name in events]


def summary(response):
    """The sentences of the page's counts, as the reader sees them."""
    html = response.content.decode()
    block = re.search(r'<div class="news-summary" role="status">(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", " ", block.group(1)) if block else ""


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "4 members joined CICOPA in the first half of 2017."),
        ("fr", "4 membres ont rejoint CICOPA au premier semestre 2017."),
        ("es", "4 miembros se unieron a CICOPA en el primer semestre de 2017."),
    ],
)
def test_the_seed_answers_who_joined_cicopa_in_the_first_half_of_2017_in_every_language(
    client, seeded, language, sentence
):
    response = news(client, language, federation="cicopa", year="2017", half="1")
    assert sorted(name for name, kind in listed(response) if kind == "joined") == [
        "Crédit Coopératif",
        "LIGACOOP",
        "SMart",
        "ULCCS",
    ]
    html = response.content.decode()
    assert sentence in html
    for slug in ("ligacoop", "ulccs", "credit-cooperatif", "smart"):
        assert f'href="/{language}/organisations/{slug}/#membership-' in html


def test_the_seeds_regional_link_is_not_news_and_the_menu_links_to_the_page(client, seeded):
    response = news(client)
    assert ("CECOP", "joined") not in listed(response)
    # Four joins of CICOPA and two of CECOP, by four organisations; and ULCCS leaving CICOPA.
    assert len(listed(response)) == 7
    assert ("ULCCS", "left") in listed(response)
    assert "4 organisations joined federations at any date the register records." in summary(response)
    assert "6 joins in all" in summary(response)
    html = client.get("/en/").content.decode()
    assert '<a href="/en/news/">News</a>' in html


@pytest.fixture
def federation(db):
    return FederationFactory(acronym="FED", slug="fed", kind=Organisation.Kind.INTERNATIONAL)


def join(federation, acronym, day, precision=DatePrecision.DAY, **fields):
    return MembershipFactory(
        federation=federation, member__acronym=acronym, joined_on=day, joined_precision=precision, **fields
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # A month: its first and last days are in it, the days around it are not.
        ({"year": "2020", "month": "2"}, ["FEB29", "FEB1"]),
        # The first half ends on 30 June; 1 July is the second half's.
        ({"year": "2020", "half": "1"}, ["JUN30", "FEB29", "FEB1", "JAN1"]),
        ({"year": "2020", "half": "2"}, ["DEC31", "JUL1"]),
        ({"year": "2020"}, ["DEC31", "JUL1", "JUN30", "FEB29", "FEB1", "JAN1"]),
        # A range includes both of its days.
        ({"start": "2020-02-29", "end": "2020-07-01"}, ["JUL1", "JUN30", "FEB29"]),
        ({"start": "2020-12-31"}, ["NEXT", "DEC31"]),
        ({"end": "2020-01-01"}, ["JAN1", "BEFORE"]),
    ],
)
def test_periods_include_their_first_and_last_days_and_nothing_beyond(client, federation, params, expected):
    for acronym, day in [
        ("BEFORE", datetime.date(2019, 12, 31)),
        ("JAN1", datetime.date(2020, 1, 1)),
        ("FEB1", datetime.date(2020, 2, 1)),
        ("FEB29", datetime.date(2020, 2, 29)),
        ("JUN30", datetime.date(2020, 6, 30)),
        ("JUL1", datetime.date(2020, 7, 1)),
        ("DEC31", datetime.date(2020, 12, 31)),
        ("NEXT", datetime.date(2021, 1, 1)),
    ]:
        join(federation, acronym, day)
    response = news(client, federation="fed", **params)
    assert [name for name, _kind in listed(response)] == expected
    members = len(expected)
    assert f"{members} member{'s' if members > 1 else ''} joined FED" in summary(response)


def test_a_join_known_only_to_a_longer_period_is_not_placed_in_a_shorter_one_but_is_counted_apart(
    client, federation
):
    join(federation, "MAY", datetime.date(2017, 5, 1), DatePrecision.MONTH)
    join(federation, "H1", datetime.date(2017, 1, 1), DatePrecision.HALF_YEAR)
    join(federation, "Y", datetime.date(2017, 1, 1), DatePrecision.YEAR)

    half = news(client, federation="fed", year="2017", half="1")
    assert [name for name, _kind in listed(half)] == ["MAY", "H1"]
    assert "1 further join or departure is known only to a longer period" in summary(half)

    may = news(client, federation="fed", year="2017", month="5")
    assert [name for name, _kind in listed(may)] == ["MAY"]
    assert "2 further joins and departures are known only to a longer period" in summary(may)

    year = news(client, federation="fed", year="2017")
    assert sorted(name for name, _kind in listed(year)) == ["H1", "MAY", "Y"]
    assert "further" not in summary(year)


def test_departures_are_listed_with_their_date_and_counted(client, federation):
    join(federation, "GONE", datetime.date(2010, 1, 1), left_on=datetime.date(2020, 3, 15))
    join(federation, "NEW", datetime.date(2020, 3, 1))
    response = news(client, "fr", federation="fed", year="2020", month="3")
    assert listed(response) == [("GONE", "left"), ("NEW", "joined")]
    html = response.content.decode()
    assert re.search(r"GONE</a> a quitté FED\s*<span class=\"event-date\">— 15 mars 2020</span>", html)
    assert "1 membre a quitté FED en mars 2020." in summary(response)
    only_departures = news(client, federation="fed", year="2020", event="left")
    assert listed(only_departures) == [("GONE", "left")]
    assert "joined" not in summary(only_departures)


def test_a_start_only_attested_by_a_source_is_no_join_and_regional_links_are_no_news(client, federation):
    join(federation, "SEEN", datetime.date(2020, 5, 1), DatePrecision.BY)
    join(federation, "BODY", datetime.date(2020, 5, 1), category=Membership.Category.REGIONAL)
    join(federation, "NEW", datetime.date(2020, 5, 2))
    response = news(client, federation="fed", year="2020")
    assert listed(response) == [("NEW", "joined")]
    assert "1 member joined FED in 2020." in summary(response)


def test_without_a_federation_every_federations_news_is_listed_and_organisations_counted_once(client, db):
    first, second = FederationFactory(acronym="ONE"), FederationFactory(acronym="TWO")
    both = OrganisationFactory(acronym="BOTH")
    MembershipFactory(federation=first, member=both, joined_on=datetime.date(2020, 1, 1))
    MembershipFactory(federation=second, member=both, joined_on=datetime.date(2020, 2, 1))
    response = news(client, year="2020")
    assert listed(response) == [("BOTH", "joined"), ("BOTH", "joined")]
    assert "1 organisation joined a federation in 2020." in summary(response)
    assert "Some joined more than one: 2 joins in all." in summary(response)


def test_the_list_is_paged_with_numbered_links_that_keep_the_filters(client, federation):
    start = datetime.date(2000, 1, 1)
    for number in range(NEWS_PAGE_SIZE * 3 + 1):
        join(federation, f"M{number:03}", start + datetime.timedelta(days=number))
    first = news(client, federation="fed")
    assert len(listed(first)) == NEWS_PAGE_SIZE
    html = first.content.decode()
    assert 'href="?federation=fed&amp;page=4"' in html  # the last page, by its number
    assert 'href="?federation=fed&amp;page=2" rel="next"' in html
    last = news(client, federation="fed", page="4")
    assert [name for name, _kind in listed(last)] == ["M000"]
    assert 'aria-current="page"' in last.content.decode()
    # Newest first across the pages, each event once.
    pages = [listed(news(client, federation="fed", page=str(n))) for n in range(1, 5)]
    names = [name for page in pages for name, _kind in page]
    assert names == [f"M{number:03}" for number in reversed(range(NEWS_PAGE_SIZE * 3 + 1))]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"half": "1"}, "Choose the year of the half-year or month."),
        ({"year": "2017", "half": "1", "month": "3"}, "Choose a half-year or a month, not both."),
        ({"year": "2017", "start": "2017-01-01"}, "not both"),
        ({"start": "2017-02-01", "end": "2017-01-01"}, "must not come after its last day"),
        ({"year": "2017.5"}, "Enter a whole number."),
        ({"year": "1799"}, "greater than or equal to 1800"),
        ({"month": "13", "year": "2017"}, "Select a valid choice."),
        ({"start": "21/06/2017"}, "Enter a date as year-month-day"),
        ({"start": "0001-01-01"}, "greater than or equal to"),
        ({"federation": "nobody"}, "Select a valid choice."),
    ],
)
def test_bad_parameters_get_the_forms_error_and_list_nothing(client, federation, params, message):
    join(federation, "NEW", datetime.date(2017, 5, 2))
    response = news(client, status=400, **params)
    html = response.content.decode()
    assert message in html
    assert "NEW</a>" not in html


def test_bad_parameters_are_explained_in_the_readers_language(client, federation):
    html = news(client, "fr", status=400, half="1").content.decode()
    assert "Choisissez l’année du semestre ou du mois." in html


@pytest.mark.parametrize("page", ["99", "0", "abc"])
def test_a_page_that_does_not_exist_is_404_and_says_how_many_there_are(client, federation, page):
    join(federation, "NEW", datetime.date(2017, 5, 2))
    html = news(client, status=404, page=page).content.decode()
    assert "it has 1." in html


def test_the_page_links_to_the_matching_feeds(client, seeded):
    html = news(client, federation="cicopa").content.decode()
    assert 'href="/en/federations/cicopa/events.rss"' in html
    assert 'href="/en/federations/cicopa/events.atom"' in html
    assert 'href="/en/feeds/events.atom"' in html
    assert 'type="application/atom+xml" title="Membership news of CICOPA (Atom)"' in html


def test_every_mistake_of_a_choice_is_named_at_once(client, federation):
    html = news(client, status=400, half="1", start="2017-02-01", end="2017-01-01").content.decode()
    assert "Choose the year of the half-year or month." in html
    assert "must not come after its last day" in html
    assert "Nothing is listed until the choice is mended." in html


def test_the_home_and_federation_pages_lead_to_the_news_page(client, seeded):
    assert 'href="/en/news/"' in client.get("/en/").content.decode()
    assert 'href="/fr/news/?federation=cicopa"' in client.get("/fr/federations/cicopa/").content.decode()


def test_a_departure_at_the_end_of_2022_is_news_of_2022_not_of_2023(client, seeded):
    # The seed's ULCCS left CICOPA "at the end of 2022", stored as 1 January 2023.
    in_2022 = news(client, federation="cicopa", year=2022, event="left")
    assert listed(in_2022) == [("ULCCS", "left")]
    assert "1 member left CICOPA in 2022." in summary(in_2022)
    assert listed(news(client, federation="cicopa", year=2023, event="left")) == []
    # Known only to the year, it is not placed in a half of it, but counted as known too loosely.
    second_half = news(client, federation="cicopa", year=2022, half=2, event="left")
    assert listed(second_half) == []
    assert "known only to a longer period" in summary(second_half)
    # A range that holds the whole of 2022 finds it; one that stops before its end does not.
    whole = news(client, federation="cicopa", start="2021-06-01", end="2022-12-31", event="left")
    assert listed(whole) == [("ULCCS", "left")]
    short = news(client, federation="cicopa", start="2022-01-01", end="2022-12-30", event="left")
    assert listed(short) == []
