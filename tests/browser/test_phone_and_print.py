"""Every page type fits a phone in every language, keeps a visible focus ring, and prints well.

The page types are tests/browser/pages.py's; each is opened at 375 px in English,
French and Spanish (nothing may scroll sideways, neither the page nor a box inside
it, and axe-core finds nothing) and photographed at 375 and 1280 px into the
artefacts directory the other browser tests use.
"""

import datetime
import re

import pytest
from coloraide import Color
from django.urls import reverse
from django.utils import translation
from django.utils.formats import get_format

from members.models import Membership, Organisation, Source
from tests.browser.conftest import describe_violations
from tests.browser.pages import DESKTOP, LANGUAGES, LONG_NAME_SLUG, PAGE_TYPES, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Whatever overflows its own box sideways, the page's or a scrolling box's (a table's
# wrapper), ignoring the visually hidden (1 px, clipped) and the drawings, which
# their viewBox clips.
OVERFLOWING = """() => {
    const out = [];
    if (document.documentElement.scrollWidth > window.innerWidth)
        out.push(`page ${document.documentElement.scrollWidth} px on ${window.innerWidth}`);
    for (const element of document.querySelectorAll('body *')) {
        if (element.closest('svg') || element.clientWidth <= 1) continue;
        const style = getComputedStyle(element);
        if (style.overflowX !== 'visible' && element.scrollWidth > element.clientWidth + 1)
            out.push(`${element.tagName}.${element.className} ${element.scrollWidth}/${element.clientWidth}`);
    }
    return out;
}"""


def open_in(visitor, page_type, language, width):
    with translation.override(language):
        address = PAGE_TYPES[page_type].address()
    return visitor.open(address, width=width)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("page_type", PAGE_TYPES)
def test_page_fits_a_phone_without_sideways_scrolling_and_passes_axe(visitor, long_name, page_type, language):
    response = open_in(visitor, page_type, language, PHONE)
    visitor.screenshot(f"{page_type}-{language}-{PHONE}")

    assert response.status == PAGE_TYPES[page_type].status
    assert visitor.page.locator("html").get_attribute("lang") == language
    assert visitor.page.evaluate(OVERFLOWING) == []
    violations = visitor.axe_violations()
    assert not violations, (
        f"axe-core found on {page_type} ({language}, {PHONE} px):\n{describe_violations(violations)}"
    )


@pytest.mark.parametrize("page_type", PAGE_TYPES)
def test_page_is_photographed_on_a_wide_screen_and_fits_it(visitor, long_name, page_type):
    response = open_in(visitor, page_type, "en", DESKTOP)
    path = visitor.screenshot(f"{page_type}-en-{DESKTOP}")

    assert response.status == PAGE_TYPES[page_type].status
    assert visitor.page.evaluate(OVERFLOWING) == []
    assert path.stat().st_size > 0


def test_stacked_tables_label_every_value_with_its_column_header(visitor):
    for page_type in ("statistics", "organisation", "federation"):
        open_in(visitor, page_type, "fr", PHONE)
        tables = visitor.page.evaluate(
            """() => [...document.querySelectorAll('table.stacked-on-phones')].map(table => {
                const headers = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
                return [...table.querySelectorAll('tbody tr:not(.source-row)')].map(row =>
                    [...row.querySelectorAll('td')].map((cell, i) => [cell.dataset.label, headers[i + 1],
                        getComputedStyle(cell, '::before').content]));
            })"""
        )
        assert tables, page_type
        for rows in tables:
            for cells in rows:
                for label, header, drawn in cells:
                    # The label is the column's header, drawn before the value with empty alternative text.
                    assert label == header
                    assert drawn.startswith(f'"{label}"'), drawn


def test_directory_on_a_phone_shows_its_first_result_on_the_first_screen(visitor):
    visitor.page.set_viewport_size({"width": PHONE, "height": 667})
    visitor.page.goto(visitor.url(reverse("members:organisation-list")))

    panel = visitor.page.locator("details.filter-panel")
    assert panel.get_attribute("open") is None
    assert not visitor.page.get_by_label("Federation").is_visible()
    first = visitor.page.locator("table.directory tbody th a").first
    assert first.bounding_box()["y"] + first.bounding_box()["height"] <= 667
    # Keyboard users reach it in a few steps: the header's links, the search box,
    # the panel's summary, the form's two controls, the download and the table.
    presses = 0
    while presses < 30 and not visitor.page.evaluate(
        "document.activeElement.closest('table.directory tbody') !== null"
    ):
        visitor.page.keyboard.press("Tab")
        presses += 1
    assert presses <= 16, presses

    # The panel opens without JavaScript, by its summary.
    panel.locator("summary").click()
    assert visitor.page.get_by_label("Federation").is_visible()


def test_directory_filters_are_open_when_chosen_and_always_shown_on_a_wide_screen(visitor):
    visitor.open(reverse("members:organisation-list") + "?federation=cicopa", width=PHONE)
    assert visitor.page.locator("details.filter-panel").get_attribute("open") is not None
    assert "1 filter chosen" in visitor.page.locator("details.filter-panel summary").inner_text()

    visitor.open(reverse("members:organisation-list"), width=DESKTOP)
    assert visitor.page.locator("details.filter-panel").get_attribute("open") is None
    assert visitor.page.get_by_label("Federation").is_visible()
    assert not visitor.page.locator("details.filter-panel summary").is_visible()
    visitor.page.get_by_label("Federation").select_option("cicopa")
    visitor.page.get_by_role("button", name="Search").click()
    visitor.page.wait_for_url("**federation=cicopa**")


def contrast_of_focus_ring(page):
    """The focused element's outline colour against the background the ring is drawn on.

    That background is found where the ring is, just left of the element: what lies
    under that point (the skip link sits over the header, not on its parent's white).
    """
    colours = page.evaluate(
        """() => {
            const element = document.activeElement;
            const style = getComputedStyle(element);
            const box = element.getBoundingClientRect();
            const x = Math.max(0, box.left - 3), y = box.top + box.height / 2;
            let node = document.elementsFromPoint(x, y).find(e => e !== element && !element.contains(e));
            let background = 'rgb(255, 255, 255)';
            while (node) {
                const colour = getComputedStyle(node).backgroundColor;
                if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') { background = colour; break; }
                node = node.parentElement;
            }
            return {ring: style.outlineColor, style: style.outlineStyle,
                    width: style.outlineWidth, background};
        }"""
    )
    assert colours["style"] != "none" and float(colours["width"].removesuffix("px")) >= 2, colours
    return Color(colours["ring"]).contrast(Color(colours["background"]), method="wcag21"), colours


def test_focus_ring_has_3_to_1_contrast_on_white_on_the_tint_and_on_the_header(visitor):
    visitor.open(reverse("members:organisation-list"), width=DESKTOP)
    page = visitor.page

    focused = {}
    page.keyboard.press("Tab")  # the skip link, over the header
    focused["skip link"] = contrast_of_focus_ring(page)
    page.locator(".site-nav a").first.focus()
    focused["menu"] = contrast_of_focus_ring(page)
    page.get_by_label("Name or acronym").focus()
    focused["search box on the tint"] = contrast_of_focus_ring(page)
    page.locator("a.download").focus()
    focused["link on white"] = contrast_of_focus_ring(page)
    # Only keyboard focus draws the ring; focus() from a script counts as keyboard here.
    for name, (ratio, colours) in focused.items():
        assert ratio >= 3, (name, ratio, colours)


def test_printed_page_has_no_menu_or_forms_shows_tables_in_full_and_external_addresses(visitor, long_name):
    visitor.open(reverse("members:federation-detail", kwargs={"slug": "cicopa"}), width=DESKTOP)
    visitor.page.emulate_media(media="print")
    page = visitor.page

    assert not page.locator(".site-nav").is_visible()
    assert not page.locator(".language-switcher").is_visible()
    assert not page.locator("form.as-of").is_visible()
    # The data tables folded away on screen are printed open, and nothing is cut off.
    assert page.get_by_role("table", name="Members by country").is_visible()
    assert page.get_by_role("table", name="Members per year, with joins and departures").is_visible()
    assert page.evaluate(OVERFLOWING) == []
    credit = page.locator(".map-credit a").first
    after = page.evaluate("a => getComputedStyle(a, '::after').content", credit.element_handle())
    assert credit.get_attribute("href") in after
    # A link within the site prints as its text alone.
    inside = page.locator("main a[href^='/']").first
    assert page.evaluate("a => getComputedStyle(a, '::after').content", inside.element_handle()) in (
        "none",
        "normal",
    )

    visitor.open(reverse("members:organisation-detail", kwargs={"slug": LONG_NAME_SLUG}), width=DESKTOP)
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Show the e-mail address").is_visible()
    website = page.locator(".details a[rel=noopener]")
    assert long_name.website in page.evaluate(
        "a => getComputedStyle(a, '::after').content", website.element_handle()
    )


@pytest.fixture
def thousand_organisations(site):
    """1,030 more co-operatives, members of CICOPA: a directory of 42 pages with a four-figure count."""
    source = Source.objects.first()
    cicopa = Organisation.objects.get(slug="cicopa")
    organisations = Organisation.objects.bulk_create(
        Organisation(
            name=f"Coopérative de test {n:04d}", slug=f"test-{n:04d}", kind="cooperative", country="FR"
        )
        for n in range(1030)
    )
    Membership.objects.bulk_create(
        Membership(member=o, federation=cicopa, joined_on=datetime.date(2018, 1, 1), source=source)
        for o in organisations
    )
    from members.cache import forget_all

    forget_all()
    return Organisation.objects.count()


@pytest.mark.parametrize("language", LANGUAGES)
def test_directory_pages_are_numbered_and_counted_with_the_language_thousands_separator(
    visitor, thousand_organisations, language
):
    with translation.override(language):
        address = reverse("members:organisation-list")
    # The language's own separator ("1,036", "1 036" with a no-break space), as Django's formats give it.
    separator = get_format("THOUSAND_SEPARATOR", language)
    assert separator and not separator.isdigit()
    visitor.open(address + "?page=3", width=PHONE)
    page = visitor.page
    total = thousand_organisations
    pages = -(-total // 25)

    status = page.get_by_role("status").inner_text()
    assert f"{total // 1000}{separator}{total % 1000:03d}" in status, status
    navigation = page.locator("nav.pagination")
    assert navigation.get_attribute("aria-label")
    current = navigation.locator("[aria-current=page]")
    assert current.inner_text().split()[-1] == "3"
    numbers = [
        int(text.split()[-1])
        for text in navigation.locator("a").all_inner_texts()
        if text.split()[-1].isdigit()
    ]
    assert {1, 2, 3, 4, 5} <= set(numbers)
    # First, previous, next and last links, the last leading to the last page.
    hrefs = [a.get_attribute("href") for a in navigation.locator("a").all()]
    assert any(href.endswith("page=1") for href in hrefs)
    assert f"page={pages}" in hrefs[-1]
    assert page.evaluate(OVERFLOWING) == []
    # Years are never written with a separator.
    assert re.search(r"\b2[,.\u202f\u00a0 ]018\b", page.locator("table.directory").inner_text()) is None

    response = visitor.open(address + "?page=99", width=PHONE)
    assert response.status == 404
    page.get_by_role("link", name=re.compile(str(pages))).first.click()
    page.wait_for_url(f"**page={pages}")
    assert page.locator("nav.pagination [aria-current=page]").inner_text().split()[-1] == str(pages)
