"""What a reader does on the public site, done in Chromium against the live server."""

import csv
import datetime
import email.utils
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from members import stats
from members.models import Membership, Organisation
from tests.factories import MembershipFactory, OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ATOM = "{http://www.w3.org/2005/Atom}"


def computed_members(page):
    """The 'Computed by the register' members figure of the federation page."""
    row = page.locator("table.figures tr", has=page.get_by_role("rowheader", name="Members", exact=True))
    return row.locator("td").nth(1).inner_text().strip()


def test_changing_the_date_changes_the_figures_to_those_of_that_day(visitor):
    cicopa = Organisation.objects.get(slug="cicopa")
    visitor.open(reverse("members:federation-detail", kwargs={"slug": "cicopa"}))
    today_members = computed_members(visitor.page)

    visitor.page.get_by_label("Figures as of").fill("2016-12-31")
    visitor.page.get_by_role("button", name="Show").click()
    visitor.page.wait_for_url("**as_of=2016-12-31**")

    before_2017 = stats.federation_figures(cicopa, datetime.date(2016, 12, 31)).members
    assert before_2017 == 0 != int(today_members)  # the seed's four 2017 joiners
    # Before any membership the page says so, rather than a table of zeros.
    assert visitor.page.locator("table.figures").count() == 0
    headline = visitor.page.locator(".headline .figure-sentence").all_inner_texts()
    assert headline == ["The register holds no membership of CICOPA on 31 December 2016."]
    assert today_members == str(stats.federation_figures(cicopa).members)
    assert "31 December 2016" in visitor.page.get_by_role("heading", level=2).first.inner_text()


@pytest.mark.parametrize(
    ("link", "language"),
    [("français", "fr"), ("español", "es")],
)
def test_switching_language_keeps_the_reader_on_the_same_page_and_date(visitor, link, language):
    path = reverse("members:federation-detail", kwargs={"slug": "cicopa"})
    visitor.open(path + "?as_of=2017-06-21")
    heading = visitor.page.get_by_role("heading", level=1).inner_text()

    with translation.override(language):
        translated_path = reverse("members:federation-detail", kwargs={"slug": "cicopa"})
    visitor.page.get_by_role("link", name=link, exact=True).click()
    visitor.page.wait_for_url(f"**{translated_path}*")

    assert visitor.page.url == visitor.url(translated_path + "?as_of=2017-06-21")
    assert visitor.page.locator("html").get_attribute("lang") == language
    # Organisation names are never translated; the figures are still those of 21 June 2017.
    assert visitor.page.get_by_role("heading", level=1).inner_text() == heading
    assert visitor.page.locator("input[name=as_of]").input_value() == "2017-06-21"


def test_switching_language_keeps_the_directory_filters(visitor):
    visitor.open(reverse("members:organisation-list") + "?joined=2017&federation=cicopa")
    names = visitor.page.locator("table.directory tbody th").all_inner_texts()

    visitor.page.get_by_role("link", name="español", exact=True).click()
    visitor.page.wait_for_url("**/es/**")

    assert (
        "/es/" in visitor.page.url
        and "joined=2017" in visitor.page.url
        and "federation=cicopa" in visitor.page.url
    )
    assert visitor.page.locator("table.directory tbody th").all_inner_texts() == names


def feed_urls():
    return [
        reverse("members:events-rss"),
        reverse("members:events-atom"),
        reverse("members:federation-events-rss", kwargs={"slug": "cicopa"}),
        reverse("members:federation-events-atom", kwargs={"slug": "cicopa"}),
        reverse("members:federation-events-rss", kwargs={"slug": "cecop"}),
        reverse("members:federation-events-atom", kwargs={"slug": "cecop"}),
    ]


def fetch_xml(visitor, path):
    response = visitor.context.request.get(visitor.url(path))
    assert response.ok, f"{path}: HTTP {response.status}"
    return response.headers["content-type"], ET.fromstring(response.body())  # noqa: S314 - our own feed


def check_rss_20(root):
    """RSS 2.0's required elements, with RFC 822 dates, newest first; returns the item titles."""
    assert root.tag == "rss" and root.get("version") == "2.0"
    (channel,) = root.findall("channel")
    for required in ("title", "link", "description"):
        assert channel.findtext(required), f"channel has no {required}"
    items = channel.findall("item")
    dates = []
    for item in items:
        assert item.findtext("title") or item.findtext("description")
        assert item.findtext("link").startswith("http")
        assert item.findtext("guid")
        dates.append(email.utils.parsedate_to_datetime(item.findtext("pubDate")))
    assert dates == sorted(dates, reverse=True)
    return [item.findtext("title") for item in items]


def check_atom(root):
    """Atom's required elements, with RFC 3339 dates, newest first; returns the entry titles."""
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert root.findtext(f"{ATOM}{required}"), f"feed has no {required}"
    datetime.datetime.fromisoformat(root.findtext(f"{ATOM}updated"))
    entries = root.findall(f"{ATOM}entry")
    ids, dates = [], []
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.findtext(f"{ATOM}{required}"), f"entry has no {required}"
        assert entry.find(f"{ATOM}link").get("href").startswith("http")
        ids.append(entry.findtext(f"{ATOM}id"))
        dates.append(datetime.datetime.fromisoformat(entry.findtext(f"{ATOM}updated")))
    assert len(set(ids)) == len(ids)
    assert dates == sorted(dates, reverse=True)
    return [entry.findtext(f"{ATOM}title") for entry in entries]


def test_every_feed_parses_as_valid_rss_20_or_atom_with_the_same_events(visitor):
    visitor.open(reverse("members:home"))
    titles = {}

    for path in feed_urls():
        content_type, root = fetch_xml(visitor, path)
        if path.endswith(".rss"):
            assert content_type.startswith("application/rss+xml")
            titles[path] = check_rss_20(root)
        else:
            assert content_type.startswith("application/atom+xml")
            titles[path] = check_atom(root)

    rss, atom, cicopa_rss, cicopa_atom, cecop_rss, cecop_atom = (titles[p] for p in feed_urls())
    assert rss == atom and cicopa_rss == cicopa_atom and cecop_rss == cecop_atom
    assert set(cicopa_rss) | set(cecop_rss) <= set(rss)
    # Every organisation that joined CICOPA (the seed's four 2017 joiners) is in its feed, and
    # every departure (ULCCS, at the end of 2022).
    joiners = Membership.objects.filter(federation__slug="cicopa").counted()
    leavers = joiners.filter(left_on__isnull=False)
    assert len(cicopa_rss) == joiners.count() + leavers.count() == 5
    for membership in joiners.select_related("member"):
        assert f"{membership.member.short_name} joined CICOPA" in cicopa_rss
    for membership in leavers.select_related("member"):
        assert f"{membership.member.short_name} left CICOPA" in cicopa_rss


def test_feeds_are_linked_from_the_federation_page_for_feed_readers(visitor):
    visitor.open(reverse("members:federation-detail", kwargs={"slug": "cicopa"}))

    advertised = visitor.page.locator("link[rel=alternate]").evaluate_all("links => links.map(l => l.href)")

    for name in ("members:federation-events-rss", "members:federation-events-atom"):
        assert visitor.url(reverse(name, kwargs={"slug": "cicopa"})) in advertised


def shown_slugs(page):
    """The organisations listed on the current directory page, by the slug in their link."""
    hrefs = page.locator("table.directory tbody th a").evaluate_all("links => links.map(l => l.pathname)")
    return [href.rstrip("/").rsplit("/", 1)[-1] for href in hrefs]


def downloaded_slugs(page):
    """Click "Download CSV" and return the distinct organisations of the file, in order."""
    with page.expect_download() as download:
        page.locator("a.download").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    return list(dict.fromkeys(row["slug"] for row in csv.DictReader(io.StringIO(text))))


def test_search_filter_paginate_and_download_exactly_the_rows_shown(visitor):
    cicopa = Organisation.objects.get(slug="cicopa")
    cecop = Organisation.objects.get(slug="cecop")
    wanted = {
        MembershipFactory(
            member=OrganisationFactory(name=f"Coopérative ouvrière {n:02d}", country="BE"),
            federation=cicopa,
            joined_on=datetime.date(2018, 3, 1),
        ).member.slug
        for n in range(30)
    }
    # Same name and year but another federation, and same federation but another year: filtered out.
    MembershipFactory(
        member=OrganisationFactory(name="Coopérative ouvrière 90"),
        federation=cecop,
        joined_on=datetime.date(2018, 3, 1),
    )
    MembershipFactory(
        member=OrganisationFactory(name="Coopérative ouvrière 91"),
        federation=cicopa,
        joined_on=datetime.date(2019, 3, 1),
    )
    page = visitor.page
    visitor.open(reverse("members:organisation-list"))

    page.get_by_label("Name or acronym").fill("cooperative OUVRIERE")  # no accents, any case
    page.get_by_label("Federation").select_option("cicopa")
    page.get_by_label("Year joined").fill("2018")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**joined=2018**")
    first_page = shown_slugs(page)
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url("**page=2**")
    second_page = shown_slugs(page)

    assert "federation=cicopa" in page.url and "q=cooperative" in page.url  # the filters live in the URL
    assert len(first_page) == 25 and len(second_page) == 5
    assert set(first_page) | set(second_page) == wanted
    assert sorted(downloaded_slugs(page)) == sorted(first_page + second_page)


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_four_who_joined_cicopa_in_2017_are_listed_and_downloaded_alone_in_each_language(
    visitor, language
):
    with translation.override(language):
        visitor.open(reverse("members:organisation-list") + "?federation=cicopa&joined=2017")

    shown = shown_slugs(visitor.page)
    expected = (
        Membership.objects.filter(federation__slug="cicopa", joined_on__year=2017)
        .counted()
        .values_list("member__slug", flat=True)
    )

    assert sorted(shown) == sorted(expected)
    assert len(shown) == 4
    assert visitor.page.locator("html").get_attribute("lang") == language
    assert sorted(downloaded_slugs(visitor.page)) == sorted(shown)
