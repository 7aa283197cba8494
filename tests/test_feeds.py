"""The RSS 2.0 and Atom feeds of joins and departures parse and list the newest first."""

import datetime

# The feeds parsed here are the site's own output, not untrusted input (hence the S314 noqa).
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime

import pytest

from tests.factories import FederationFactory, MembershipFactory

ATOM = "{http://www.w3.org/2005/Atom}"


def rss_items(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)  # noqa: S314
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    for required in ("title", "link", "description"):
        assert channel.findtext(required)
    items = channel.findall("item")
    for item in items:
        assert item.findtext("title") and item.findtext("link") and item.findtext("guid")
        parsedate_to_datetime(item.findtext("pubDate"))  # RFC 822 dates, or this raises
    return channel, items


def atom_entries(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # noqa: S314
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.findtext(f"{ATOM}{required}")
    entries = feed.findall(f"{ATOM}entry")
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.findtext(f"{ATOM}{required}")
        assert entry.find(f"{ATOM}link").get("href")
        datetime.datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))
    return feed, entries


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_four_2017_joiners_are_in_the_rss_feed_in_every_language(client, seeded, language):
    _channel, items = rss_items(client, f"/{language}/feeds/events.rss")
    links = {item.findtext("link").split("#")[0].rsplit("/", 2)[-2] for item in items}
    assert links == {"ligacoop", "ulccs", "credit-cooperatif", "smart"}
    assert all(f"/{language}/organisations/" in item.findtext("link") for item in items)


def test_rss_feed_lists_joins_and_departures_newest_first(client, db):
    federation = FederationFactory(acronym="FED", slug="fed")
    MembershipFactory(federation=federation, member__acronym="OLD", joined_on=datetime.date(2001, 1, 1))
    MembershipFactory(
        federation=federation,
        member__acronym="GONE",
        joined_on=datetime.date(2003, 1, 1),
        left_on=datetime.date(2010, 6, 1),
    )
    MembershipFactory(federation=federation, member__acronym="NEW", joined_on=datetime.date(2015, 1, 1))
    _channel, items = rss_items(client, "/en/feeds/events.rss")
    titles = [item.findtext("title") for item in items]
    assert titles == ["NEW joined FED", "GONE left FED", "GONE joined FED", "OLD joined FED"]
    dates = [parsedate_to_datetime(item.findtext("pubDate")) for item in items]
    assert dates == sorted(dates, reverse=True)


def test_federation_feed_has_only_that_federations_events(client, db):
    ours, theirs = FederationFactory(slug="ours", acronym="OURS"), FederationFactory(slug="theirs")
    MembershipFactory(federation=ours, member__acronym="MINE")
    MembershipFactory(federation=theirs, member__acronym="OTHER")
    _feed, entries = atom_entries(client, "/en/federations/ours/events.atom")
    assert [entry.findtext(f"{ATOM}title") for entry in entries] == ["MINE joined OURS"]
    _channel, items = rss_items(client, "/en/federations/ours/events.rss")
    assert [item.findtext("title") for item in items] == ["MINE joined OURS"]


def test_regional_organisation_links_are_not_membership_news(client, seeded):
    _feed, entries = atom_entries(client, "/en/feeds/events.atom")
    titles = [entry.findtext(f"{ATOM}title") for entry in entries]
    assert "CECOP joined CICOPA" not in titles
    assert len(titles) == 6  # four joins of CICOPA and two of CECOP


def test_feed_of_an_unknown_federation_is_404(client, db):
    assert client.get("/en/federations/nobody/events.rss").status_code == 404


def test_feed_titles_are_translated_but_names_are_not(client, seeded):
    _channel, items = rss_items(client, "/fr/federations/cicopa/events.rss")
    titles = {item.findtext("title") for item in items}
    assert "ULCCS a rejoint CICOPA" in titles


@pytest.mark.parametrize("page", ["/en/", "/en/federations/cicopa/"])
def test_pages_announce_the_feeds_with_link_rel_alternate(client, seeded, page):
    html = client.get(page).content.decode()
    assert '<link rel="alternate" type="application/rss+xml"' in html
    assert '<link rel="alternate" type="application/atom+xml"' in html


def test_federation_page_announces_its_own_feeds(client, seeded):
    html = client.get("/en/federations/cicopa/").content.decode()
    assert 'href="/en/federations/cicopa/events.rss"' in html
    assert 'href="/en/federations/cicopa/events.atom"' in html
