"""The RSS 2.0 and Atom feeds of joins and departures parse and list the newest first."""

import datetime
import re

# The feeds parsed here are the site's own output, not untrusted input (hence the S314 noqa).
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import feedparser
import pytest

from members.dates import DatePrecision
from tests.factories import FederationFactory, MembershipFactory, SourceFactory

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
    # Four joins of CICOPA and two of CECOP, and ULCCS leaving CICOPA at the end of 2022.
    assert len([title for title in titles if " joined " in title]) == 6
    assert [title for title in titles if " left " in title] == ["ULCCS left CICOPA"]


def test_a_start_only_attested_by_a_source_is_not_announced_as_a_join_but_its_departure_is(client, db):
    federation = FederationFactory(acronym="FED", slug="fed")
    MembershipFactory(
        federation=federation,
        member__acronym="SEEN",
        joined_on=datetime.date(2019, 3, 1),
        joined_precision=DatePrecision.BY,
        left_on=datetime.date(2021, 1, 1),
    )
    MembershipFactory(federation=federation, member__acronym="NEW", joined_on=datetime.date(2020, 1, 1))
    _channel, items = rss_items(client, "/en/feeds/events.rss")
    assert [item.findtext("title") for item in items] == ["SEEN left FED", "NEW joined FED"]


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


# --- Names, titles and notes are text --------------------------------------------

# What a federation editor can type into a source's title or a membership's note.
MARKUP = (
    '<img src=x onerror=alert(1)><a href="https://evil.example/">Log in</a><iframe src="//evil.example/">'
)


class _HtmlReader(HTMLParser):
    """Reads a feed value as a reader that renders it as HTML does: its elements, and its text."""

    def __init__(self, value):
        super().__init__(convert_charrefs=True)
        self.elements, self.text = [], ""
        self.feed(value)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_data(self, data):
        self.text += data


@pytest.fixture
def marked_up_membership(db):
    federation = FederationFactory(acronym="<b>FED</b>", slug="fed")
    source = SourceFactory(title=f"Report {MARKUP}", published_on=None)
    return MembershipFactory(
        federation=federation, member__acronym="<i>M&amp;</i>", source=source, source_note=MARKUP
    )


@pytest.mark.parametrize("url", ["/en/feeds/events.rss", "/en/federations/fed/events.rss"])
def test_markup_in_names_sources_and_notes_reaches_rss_readers_as_text(client, marked_up_membership, url):
    channel, [item] = rss_items(client, url)

    # RSS readers render titles and descriptions as HTML: ours are text escaped for them once.
    for value in (item.findtext("title"), item.findtext("description"), channel.findtext("title")):
        assert _HtmlReader(value).elements == []
    assert _HtmlReader(item.findtext("title")).text == "<i>M&amp;</i> joined <b>FED</b>"
    description = _HtmlReader(item.findtext("description")).text
    assert f"“{MARKUP}”" in description
    assert f"Source: Report {MARKUP}" in description
    if "federations" in url:
        assert _HtmlReader(channel.findtext("title")).text == "Membership news of <b>FED</b>"
        assert _HtmlReader(channel.findtext("description")).elements == []


@pytest.mark.parametrize("url", ["/en/feeds/events.atom", "/en/federations/fed/events.atom"])
def test_markup_in_names_sources_and_notes_reaches_atom_readers_as_text(client, marked_up_membership, url):
    feed, [entry] = atom_entries(client, url)

    summary = entry.find(f"{ATOM}summary")
    title = entry.find(f"{ATOM}title")
    for element in (summary, title, feed.find(f"{ATOM}title")):
        assert element.get("type", "text") == "text"
        assert len(element) == 0  # no element of the markup survives as XML either
    assert title.text == "<i>M&amp;</i> joined <b>FED</b>"
    assert f"“{MARKUP}”" in summary.text
    assert f"Source: Report {MARKUP}" in summary.text


# --- Ids, author and dates, read by an independent parser ---------------------------

FEED_ADDRESSES = [
    "/{language}/feeds/events.atom",
    "/{language}/feeds/events.rss",
    "/{language}/federations/cicopa/events.atom",
    "/{language}/federations/cicopa/events.rss",
]


def parsed(client, address):
    response = client.get(address)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    return feed


def test_every_entry_id_is_one_absolute_tag_uri_in_every_feed_and_language(client, seeded, settings):
    ids = {
        (language, address): [entry.id for entry in parsed(client, address.format(language=language)).entries]
        for language in ("en", "fr", "es")
        for address in FEED_ADDRESSES
    }
    tag = re.compile(rf"tag:{re.escape(settings.FEED_TAGGING_ENTITY)}:membership/\d+/(joined|left)")
    assert all(values and all(tag.fullmatch(value) for value in values) for values in ids.values())
    # Each feed lists the same events under the same ids in every language, RSS as Atom,
    # and CICOPA's feeds are a part of the whole register's.
    whole = ids[("en", FEED_ADDRESSES[0])]
    # Six joins and the seed's one departure (ULCCS left CICOPA at the end of 2022).
    assert len(set(whole)) == len(whole) == 7
    for (_language, address), values in ids.items():
        expected = whole if "federations" not in address else ids[("en", FEED_ADDRESSES[2])]
        assert values == expected
    assert set(ids[("en", FEED_ADDRESSES[2])]) < set(whole)


def test_the_id_names_the_membership_and_the_event(client, db, settings):
    settings.FEED_TAGGING_ENTITY = "register.example.org,2017"
    federation = FederationFactory(slug="fed")
    membership = MembershipFactory(
        federation=federation, joined_on=datetime.date(2010, 1, 1), left_on=datetime.date(2012, 1, 1)
    )
    feed = parsed(client, "/en/federations/fed/events.atom")
    assert {entry.id for entry in feed.entries} == {
        f"tag:register.example.org,2017:membership/{membership.pk}/joined",
        f"tag:register.example.org,2017:membership/{membership.pk}/left",
    }
    rss = parsed(client, "/en/federations/fed/events.rss")
    assert {entry.id for entry in rss.entries} == {entry.id for entry in feed.entries}
    assert all(entry.guidislink is False for entry in rss.entries)


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_the_atom_feed_has_an_author(client, seeded, language):
    feed = parsed(client, f"/{language}/feeds/events.atom")
    assert feed.feed.author_detail.name
    assert feed.version == "atom10"


@pytest.mark.parametrize(
    ("language", "date", "quote"),
    [
        ("en", "(21 June 2017)", "“Last May, ULCCS"),
        ("fr", "(21 juin 2017)", "«\u202fLast May, ULCCS"),
        ("es", "(21 de junio de 2017)", "«Last May, ULCCS"),
    ],
)
def test_summaries_write_dates_and_quotation_marks_in_the_feeds_language(
    client, seeded, language, date, quote
):
    feed = parsed(client, f"/{language}/feeds/events.atom")
    (ulccs,) = [entry for entry in feed.entries if "/ulccs/" in entry.link and entry.id.endswith("/joined")]
    assert date in ulccs.summary
    assert quote in ulccs.summary
    assert "Jun 2017" not in ulccs.summary
