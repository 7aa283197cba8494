"""Every public page type passes axe-core's WCAG 2.1 A and AA rules; the directory keeps its table."""

import pytest
from django.utils import translation

from tests.browser.conftest import describe_violations
from tests.browser.pages import PAGE_TYPES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PAGES = {name: page_type.address for name, page_type in PAGE_TYPES.items()}


# At 375 px every page type is checked in the three languages by test_phone_and_print.py.
@pytest.mark.parametrize("width", [1280])
@pytest.mark.parametrize("page_type", PAGES)
def test_public_page_has_no_wcag_21_aa_violations(visitor, long_name, page_type, width):
    response = visitor.open(PAGES[page_type](), width=width)

    assert response.status == PAGE_TYPES[page_type].status
    violations = visitor.axe_violations()
    assert not violations, f"axe-core found on {page_type} at {width} px:\n{describe_violations(violations)}"


@pytest.mark.parametrize("language", ["fr", "es"])
def test_federation_page_has_no_wcag_21_aa_violations_in_french_and_spanish(visitor, language):
    with translation.override(language):
        visitor.open(PAGES["federation"]())

    assert visitor.page.locator("html").get_attribute("lang") == language
    violations = visitor.axe_violations()
    assert not violations, f"axe-core found in {language}:\n{describe_violations(violations)}"


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_directory_reads_at_375_px_without_scrolling_sideways_and_keeps_its_table_semantics(
    visitor, language
):
    with translation.override(language):
        visitor.open(PAGES["directory-filtered"](), width=375)

    widths = visitor.page.evaluate(
        """() => ({
            page: document.documentElement.scrollWidth,
            screen: window.innerWidth,
            table: document.querySelector('table.directory').scrollWidth,
            wrap: document.querySelector('table.directory').parentElement.clientWidth,
        })"""
    )
    assert widths["page"] <= widths["screen"], widths
    # The table's own scroll box does not scroll either: every cell is readable in place.
    assert widths["table"] <= widths["wrap"], widths
    # Stacked cells stay a table to assistive technology, as Chromium itself exposes
    # it, and a cell's name is its value alone: the visible label is not read twice.
    cdp = visitor.context.new_cdp_session(visitor.page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    names = {}
    for node in nodes:
        if "role" in node:
            names.setdefault(node["role"]["value"], []).append(node.get("name", {}).get("value", ""))
    assert {"table", "columnheader", "rowheader", "cell"} <= names.keys()
    labels = [label for label in names["columnheader"] if label]
    assert len(labels) == 5
    assert [cell for cell in names["cell"] if cell.startswith(tuple(labels))] == []
