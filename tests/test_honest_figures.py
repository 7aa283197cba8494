"""Figures a reader cannot misread: one provenance per sentence, "not declared" for nothing, dates kept."""

import datetime
import re

import pytest
from bs4 import BeautifulSoup
from django.utils import timezone, translation
from django_countries.fields import Country

from members.models import Membership, Organisation
from tests.provenance import check_page, check_sentences, held_members

LANGUAGES = ["en", "fr", "es"]
NEWS_DAY = datetime.date(2017, 6, 21)
BEFORE_ANY_RECORD = datetime.date(2016, 12, 31)


def soup(response):
    return BeautifulSoup(response.content.decode(), "html.parser")


def text_of(element):
    return " ".join(element.get_text().split())


# --- The provenance rule ------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("path", "day"),
    [
        ("/", None),
        ("/federations/cicopa/", None),
        ("/federations/cecop/", None),
        ("/federations/cicopa/?as_of=2017-06-21", NEWS_DAY),
        ("/federations/cecop/?as_of=2017-06-21", NEWS_DAY),
        ("/federations/cicopa/?as_of=2016-12-31", BEFORE_ANY_RECORD),
    ],
)
def test_no_sentence_on_the_seeds_pages_mixes_a_declared_and_a_computed_figure(
    client, seeded, language, path, day
):
    response = client.get(f"/{language}{path}")
    assert response.status_code == 200
    # Before any record the page states no figure at all (the test below says what it states).
    figures_expected = day != BEFORE_ANY_RECORD
    html = response.content.decode()
    assert check_page(html, day or timezone.localdate(), figures_expected=figures_expected) == []


def test_the_check_catches_a_declared_and_a_computed_figure_in_one_sentence(seeded):
    # The sentence the home page used to print for CECOP: 27 and 15 declared, 75,000 computed.
    html = (
        '<main><div class="headline"><p class="figure-sentence" data-provenance="declared" '
        'data-federation="cecop"><time datetime="2017-06-21">21 June 2017</time> CECOP affiliates '
        '<data class="figure" value="27" data-provenance="declared" '
        'data-field="member_organisations">27</data>'
        " members in 15 countries, which employ "
        '<data class="figure" value="75000" data-provenance="computed" data-field="employment">75,000</data>'
        " people.</p></div></main>"
    )
    problems, _figures = check_sentences(html)
    assert any("unmarked number '15'" in p or "members in 15" in p for p in problems)
    assert any("declared sentence holding ['computed']" in p for p in problems)


def test_the_check_catches_a_figure_the_database_does_not_hold(seeded):
    html = (
        '<main><p class="figure-sentence" data-provenance="declared" data-federation="cicopa">'
        '<data class="figure" value="49" data-provenance="declared" '
        'data-field="member_organisations">49</data>'
        "</p></main>"
    )
    assert check_page(html, NEWS_DAY) != []


@pytest.mark.parametrize("language", LANGUAGES)
def test_cecops_headline_gives_its_declaration_and_the_registers_computation_in_two_dated_sentences(
    client, seeded, language
):
    page = soup(client.get(f"/{language}/federations/cecop/"))
    sentences = page.select(".headline .figure-sentence")
    assert [s["data-provenance"] for s in sentences] == ["declared", "computed"]
    assert [t["datetime"] for t in sentences[0].select("time")] == ["2017-06-21"]
    assert [t["datetime"] for t in sentences[1].select("time")] == [timezone.localdate().isoformat()]
    declared = {d["data-field"]: int(d["value"]) for d in sentences[0].select("data.figure")}
    computed = {d["data-field"]: int(d["value"]) for d in sentences[1].select("data.figure")}
    assert declared == {"member_organisations": 27, "countries": 15}
    assert computed["employment"] == 75_000  # SMart's declaration, the one the register holds


# --- "Not declared", never 0 ------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_what_nobody_declared_is_said_to_be_not_declared_not_zero(client, seeded, language):
    page = soup(client.get(f"/{language}/federations/cicopa/"))
    table = page.select_one("table.figures")
    enterprises = table.select('[data-field="enterprises"]')
    # CICOPA declared 68,000 enterprises; none of the organisations the register holds declared any.
    assert [(e["data-provenance"], e.get("value")) for e in enterprises] == [
        ("declared", "68000"),
        ("computed", None),
    ]
    assert "not-declared" in enterprises[1]["class"]
    # France: Crédit Coopératif, which declared nothing.
    with translation.override(language):
        name = str(Country("FR").name)
    france = next(row for row in page.select("table.breakdown tr.country-row") if text_of(row.th) == name)
    cells = france.select("td")
    assert text_of(cells[0]) == "1"
    assert all(cell.select_one(".not-declared") for cell in cells[1:])
    assert all(text_of(cell) != "0" for cell in cells)


def test_a_regional_body_whose_members_declared_nothing_shows_not_declared_by_any_member(
    client, seeded, federation_factory, membership_factory
):
    americas = federation_factory(acronym="CICOPA Americas", slug="americas", kind=Organisation.Kind.REGIONAL)
    cicopa = Organisation.objects.get(slug="cicopa")
    membership_factory(member=americas, federation=cicopa, category=Membership.Category.REGIONAL)
    membership_factory(member=Organisation.objects.get(slug="ligacoop"), federation=americas)
    page = soup(client.get("/en/federations/americas/"))
    cells = page.select("table.figures td")
    employment = [c for c in cells if c.select_one('[data-field="employment"]')]
    assert [text_of(c) for c in employment] == ["not declared", "not declared by any member"]
    statistics = soup(client.get("/en/statistics/"))
    row = statistics.select_one('tr[data-federation="americas"]')
    assert text_of(row.select_one('[data-field="employment"]')) == "not declared by any member"
    assert check_page(client.get("/en/federations/americas/").content.decode(), timezone.localdate()) == []


# --- Before the register knows anything ---------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_date_before_any_membership_says_the_register_holds_none(client, seeded, language):
    page = soup(client.get(f"/{language}/federations/cicopa/", {"as_of": "2016-12-31"}))
    headline = page.select(".headline .figure-sentence")
    assert len(headline) == 1
    assert not headline[0].select("data.figure")  # no "0 members in 0 countries"
    assert headline[0].select_one("time")["datetime"] == "2016-12-31"
    assert page.select_one("table.figures") is None
    if language == "en":
        assert text_of(headline[0]) == "The register holds no membership of CICOPA on 31 December 2016."


# --- How much of the federation the register holds --------------------------------------------------


def test_the_coverage_sentence_says_how_many_of_the_declared_members_the_register_holds(client, seeded):
    page = soup(client.get("/en/federations/cicopa/"))
    comparison = page.select_one('.coverage[data-provenance="comparison"]')
    figures = {d["data-provenance"]: int(d["value"]) for d in comparison.select("data.figure")}
    assert figures == {"computed": len(held_members("cicopa", timezone.localdate())), "declared": 48}
    assert text_of(comparison) == (
        f"The register holds {figures['computed']} of the 48 members CICOPA declares; "
        "its totals cover only those."
    )


def test_coverage_of_one_member_uses_the_singular(
    client, federation_factory, membership_factory, declaration_factory
):
    federation = federation_factory(acronym="ONE", slug="one", kind=Organisation.Kind.INTERNATIONAL)
    member = membership_factory(federation=federation).member
    declaration_factory(organisation=member, employment=10)
    other = federation_factory(acronym="TWO", slug="two", kind=Organisation.Kind.INTERNATIONAL)
    membership_factory(federation=other)
    declaring = membership_factory(federation=other).member
    declaration_factory(organisation=declaring, employment=5)
    one = " ".join(text_of(p) for p in soup(client.get("/en/federations/one/")).select(".coverage"))
    two = " ".join(text_of(p) for p in soup(client.get("/en/federations/two/")).select(".coverage"))
    assert "Its 1 member in the register has declared enterprises or employment." in one
    assert "1 of its 2 members in the register has declared enterprises or employment." in two
    assert "have declared" not in two


# --- Dates kept by links -------------------------------------------------------------------------------


def test_the_directory_link_carries_the_chosen_date_and_says_so(client, seeded):
    page = soup(client.get("/en/federations/cicopa/", {"as_of": "2017-06-21"}))
    link = next(a for a in page.select("a") if "/organisations/?federation=cicopa" in a["href"])
    assert "as_of=2017-06-21" in link["href"]
    assert text_of(link) == "List the members of CICOPA on 21 June 2017 in the directory"
    today = soup(client.get("/en/federations/cicopa/"))
    link = next(a for a in today.select("a") if "/organisations/?federation=cicopa" in a["href"])
    assert "as_of" not in link["href"]
    assert text_of(link) == "List today's members of CICOPA in the directory"


def test_the_directory_lists_the_members_on_the_date_the_link_carries(client, seeded):
    on_news_day = client.get(
        "/en/organisations/", {"federation": "cicopa", "status": "current", "as_of": "2017-06-21"}
    )
    before = client.get(
        "/en/organisations/", {"federation": "cicopa", "status": "current", "as_of": "2016-12-31"}
    )
    assert on_news_day.context["paginator"].count == len(held_members("cicopa", NEWS_DAY)) == 4
    assert before.context["paginator"].count == 0


def test_links_to_regional_bodies_keep_the_chosen_date(client, seeded):
    page = soup(client.get("/en/federations/cicopa/", {"as_of": "2017-06-21"}))
    link = next(a for a in page.select("a") if a["href"].startswith("/en/federations/cecop/"))
    assert link["href"] == "/en/federations/cecop/?as_of=2017-06-21"


# --- Many federations -------------------------------------------------------------------------------


def test_home_groups_each_international_federation_with_its_regional_bodies_then_the_others(
    client, seeded, federation_factory, membership_factory
):
    small = federation_factory(acronym="SMALL", slug="small", kind=Organisation.Kind.INTERNATIONAL)
    membership_factory(federation=small)
    body = federation_factory(acronym="SMALL Asia", slug="small-asia", kind=Organisation.Kind.REGIONAL)
    membership_factory(member=body, federation=small, category=Membership.Category.REGIONAL)
    membership_factory(federation=body)
    alone = federation_factory(acronym="ALONE", slug="alone", kind=Organisation.Kind.REGIONAL)
    membership_factory(federation=alone)
    page = soup(client.get("/en/"))
    groups = page.select("section.federation-group")
    order = [[s["data-federation"] for s in group.select(".figure-sentence")][::1] for group in groups]
    shown = [list(dict.fromkeys(slugs)) for slugs in order]
    assert shown == [["cicopa", "cecop"], ["small", "small-asia"], ["alone"]]
    with translation.override("en"):
        assert text_of(groups[-1].h3) == "Other federations"


def test_statistics_list_by_the_name_shown_and_leave_out_federations_unknown_on_the_date(
    client, seeded, federation_factory, membership_factory
):
    # Full name "Aaa…" would sort first; the acronym shown, "ZED", sorts last.
    late = federation_factory(
        name="Aaa late federation", acronym="ZED", slug="zed", kind=Organisation.Kind.INTERNATIONAL
    )
    membership_factory(federation=late, joined_on=datetime.date(2023, 6, 23))
    today = soup(client.get("/en/statistics/"))
    assert [r["data-federation"] for r in today.select("tbody tr[data-federation]")] == [
        "cecop",
        "cicopa",
        "zed",
    ]
    in_2017 = soup(client.get("/en/statistics/", {"as_of": "2017-06-21"}))
    assert [r["data-federation"] for r in in_2017.select("tbody tr[data-federation]")] == ["cecop", "cicopa"]
    assert "1 other federation of the register had neither members nor a declaration" in text_of(in_2017)


def test_statistics_columns_say_which_figures_are_declared_and_which_computed(client, seeded):
    page = soup(client.get("/en/statistics/"))
    headers = [text_of(th) for th in page.select("table.federation-figures thead th")]
    assert headers[1] == "Members declared by the federation"
    row = page.select_one('tr[data-federation="cicopa"]')
    provenance = [cell.select_one("[data-provenance]")["data-provenance"] for cell in row.select("td")]
    assert provenance == ["declared"] + ["computed"] * 5
    assert "declared" in headers[1].lower() and all("register" in h for h in headers[2:])


def test_a_federation_with_many_member_federations_pages_them_with_first_and_last(
    client, federation_factory, membership_factory
):
    top = federation_factory(acronym="BIG", slug="big", kind=Organisation.Kind.INTERNATIONAL)
    for number in range(120):
        membership_factory(federation=top, member=federation_factory(name=f"National {number:03}"))
    first = soup(client.get("/en/federations/big/", {"as_of": "2020-01-01"}))
    listed = first.select_one("#member-federations-heading").find_next("ul").select("li")
    assert len(listed) == 50
    pager = first.select_one("nav.pagination")
    labels = [text_of(a) for a in pager.select("a")]
    assert labels[-2:] == ["Next page", "Last page (3)"] and "First page" not in labels
    last = next(a for a in pager.select("a") if text_of(a) == "Last page (3)")
    assert "page=3" in last["href"] and "as_of=2020-01-01" in last["href"]
    third = soup(client.get("/en/federations/big/", {"as_of": "2020-01-01", "page": "3"}))
    listed = third.select_one("#member-federations-heading").find_next("ul").select("li")
    assert len(listed) == 20
    assert text_of(third.select_one('nav.pagination [aria-current="page"]')).endswith("3")
    assert [text_of(a) for a in third.select("nav.pagination a")][:2] == ["First page", "Previous page"]


def test_counts_have_the_thousands_separator_of_the_pages_language(client, seeded, declaration_factory):
    for language, shown in [
        ("en", "75,000"),
        ("fr", "75\N{NO-BREAK SPACE}000"),
        ("es", "75\N{NO-BREAK SPACE}000"),
    ]:
        page = soup(client.get(f"/{language}/federations/cecop/"))
        figure = page.select_one('.headline data.figure[data-field="employment"]')
        assert figure.get_text() == shown, language
    # Years are never grouped.
    assert re.search(
        r"\b2017\b",
        text_of(soup(client.get("/en/federations/cecop/")).select_one("table.figures").find_next("p")),
    )


def test_names_with_numbers_sort_by_the_numbers_value_as_a_reader_expects():
    from members.stats import natural_key

    names = ["SYN10", "SYN2", "Syn1", "ÉCO 3", "eco 12"]
    assert sorted(names, key=natural_key) == ["ÉCO 3", "eco 12", "Syn1", "SYN2", "SYN10"]
